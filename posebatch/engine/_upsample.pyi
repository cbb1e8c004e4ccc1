import numpy as np
import numpy.typing as npt

def upsample(src: npt.NDArray[np.float32], out_h: int, out_w: int) -> npt.NDArray[np.float32]: ...
