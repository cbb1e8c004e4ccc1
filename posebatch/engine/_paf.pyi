import numpy as np
import numpy.typing as npt

def parse(
    peaks: npt.NDArray[np.float32],
    heat: npt.NDArray[np.float32],
    paf: npt.NDArray[np.float32],
    limbs: npt.NDArray[np.int32],
    limb_paf: npt.NDArray[np.int32],
    n_parts: int,
    n_seed_limbs: int,
    heat_thresh: float,
    vec_thresh: float,
    count_thresh: int,
    n_steps: int,
    min_parts: int,
    min_score: float,
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]: ...
