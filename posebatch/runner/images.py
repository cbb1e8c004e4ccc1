"""The image job: a list of image files -> keypoints table, per-image report, renders."""
from __future__ import annotations

import dataclasses
import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path

import cv2
import numpy as np
import pyarrow as pa

from .. import render
from .evaluate import image_id_from_name, to_coco
from ..errors import ImageReadError
from ..engine.refine import RefineConfig, refine_result
from ..engine.estimator import Estimator, PoseResult
from ..storage.schemas import (IMAGE_KEYPOINTS, IMAGE_SCHEMA_VERSION, IMAGES, keypoint_columns,
                               part_array, write_parquet)

log = logging.getLogger(__name__)


def read_image(path: Path) -> np.ndarray:
    """BGR uint8 image, or ImageReadError saying why not."""
    path = Path(path)
    if not path.is_file():
        raise ImageReadError(f"{path}: no such file")
    data = np.fromfile(path, np.uint8)
    img = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if img is None:
        raise ImageReadError(f"{path}: not a readable image (empty, truncated or not an "
                             "image format OpenCV decodes)")
    return img


@dataclass
class ImageOutcome:
    image: str
    width: int | None = None
    height: int | None = None
    people: int | None = None
    status: str = "ok"
    error: str | None = None


@dataclass
class ImageReport:
    outcomes: list[ImageOutcome] = field(default_factory=list)
    keypoints_path: Path | None = None
    images_path: Path | None = None
    coco: list[dict] = field(default_factory=list)

    @property
    def failed(self) -> list[ImageOutcome]:
        return [o for o in self.outcomes if o.status != "ok"]


def _render(out_dir: Path, stem: str, img: np.ndarray, res: PoseResult, skeleton: bool,
            panels: bool) -> None:
    cv2.imwrite(str(out_dir / f"{stem}.png"), render.draw_people(img, res.keypoints, res.layout))
    if skeleton:
        cv2.imwrite(str(out_dir / f"{stem}.skeleton.png"),
                    render.skeleton_only(img.shape, res.keypoints, res.layout))
    if panels and res.maps is not None:
        cv2.imwrite(str(out_dir / f"{stem}.panels.png"),
                    render.panels(img, res.keypoints, res.maps.heat, res.maps.paf, res.layout))


def _stems(paths: list[Path]) -> list[str]:
    """Output names: the file stem, made unique when two inputs share one."""
    seen: dict[str, int] = {}
    out = []
    for p in paths:
        stem = Path(p).stem
        n = seen.get(stem, 0)
        seen[stem] = n + 1
        out.append(stem if n == 0 else f"{stem}-{n}")
    return out


def run_images(paths: list[Path], out_dir: Path, estimator: Estimator, *, render_png: bool = True,
               skeleton: bool = False, panels: bool = False,
               coco_ids: dict[str, int] | None = None,
               refine: RefineConfig | None = None) -> ImageReport:
    """Estimate every image; unreadable ones are reported and skipped, the rest complete.
    With ``refine`` on, each person found is looked at again in a crop of the full-resolution
    image (posebatch.engine.refine) and the ``refined`` column says which parts came from it."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    report = ImageReport()
    cols: dict[str, list] = {k: [] for k in IMAGE_KEYPOINTS.names if k not in ("image", "part")}
    refine = refine or RefineConfig()
    sources: list[str] = []
    for i, (path, stem) in enumerate(zip(paths, _stems(paths))):
        outcome = ImageOutcome(image=str(path))
        report.outcomes.append(outcome)
        try:
            img = read_image(path)
        except ImageReadError as exc:
            log.error("%s", exc)
            outcome.status, outcome.error = "error", str(exc)
            continue
        res = estimator.estimate(img, keep_maps=panels)
        refined = np.zeros(res.keypoints.shape[:2], bool)
        if refine.enabled:
            again = refine_result(estimator, img, res.keypoints, res.scores, refine)
            res = dataclasses.replace(res, keypoints=again.keypoints, scores=again.scores)
            refined = again.refined
        outcome.width, outcome.height, outcome.people = img.shape[1], img.shape[0], res.n_people
        c = keypoint_columns(res.keypoints, res.scores)
        for k, v in c.items():
            cols[k].append(v)
        cols["refined"].append(refined[res.keypoints[..., 2] > 0])
        sources += [str(path)] * len(c["x"])
        image_id = (coco_ids or {}).get(Path(path).name, image_id_from_name(path, i))
        report.coco += to_coco(image_id, res.keypoints, res.scores, res.layout)
        if render_png:
            _render(out_dir, stem, img, res, skeleton, panels)
    params = {"model": estimator.spec.name, "model_sha256": estimator.spec.sha256,
              **asdict(estimator.config), "refine": asdict(refine)}
    arrays = {k: (np.concatenate(v) if v else np.empty(0)) for k, v in cols.items()}
    table = pa.table({
        "image": pa.array(sources, pa.string()).dictionary_encode(),
        "person": pa.array(arrays["person"], pa.int16()),
        "person_score": pa.array(arrays["person_score"], pa.float32()),
        "part_id": pa.array(arrays["part_id"], pa.int8()),
        "part": part_array(arrays["part_id"].astype(np.int8), estimator.layout),
        "x": pa.array(arrays["x"], pa.float32()),
        "y": pa.array(arrays["y"], pa.float32()),
        "score": pa.array(arrays["score"], pa.float32()),
        "refined": pa.array(arrays["refined"].astype(bool), pa.bool_()),
    }).cast(IMAGE_KEYPOINTS)
    report.keypoints_path = write_parquet(table, out_dir / "keypoints.parquet", "image_keypoints",
                                          params, IMAGE_SCHEMA_VERSION, schema=IMAGE_KEYPOINTS)
    images = pa.Table.from_pylist([asdict(o) for o in report.outcomes], schema=IMAGES)
    report.images_path = write_parquet(images, out_dir / "images.parquet", "images", params,
                                       IMAGE_SCHEMA_VERSION, schema=IMAGES)
    return report
