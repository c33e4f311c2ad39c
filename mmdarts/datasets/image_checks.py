"""Image files checked before a run trains: each decoded by the loading transform of its dataset's own pipeline,
in threads, so that an unreadable file stops the run at its start and not when its batch comes, hours in."""
import sys
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Dict, Iterator, List, Optional, Tuple

from mmengine.utils import track_iter_progress
from torch.utils.data import Dataset


def base_datasets(dataset: Dataset) -> Iterator[Dataset]:
    """The datasets holding the samples under wrappers (``SubsetDataset``, mmengine's Concat/Repeat/ClassBalanced)."""
    inner = getattr(dataset, 'datasets', None)
    if isinstance(inner, (list, tuple)):
        for item in inner:
            yield from base_datasets(item)
    elif isinstance(getattr(dataset, 'dataset', None), Dataset):
        yield from base_datasets(dataset.dataset)
    else:
        yield dataset


def image_files(dataset: Dataset) -> Iterator[Tuple[str, Callable]]:
    """``(path, loading transform)`` of every sample of ``dataset`` read from an image file by its pipeline (the
    pipeline's ``LoadImageFromFile``)."""
    for base in base_datasets(dataset):
        transforms = getattr(getattr(base, 'pipeline', None), 'transforms', None) or []
        loader = next((t for t in transforms if type(t).__name__ == 'LoadImageFromFile'), None)
        if loader is None or not hasattr(base, 'get_data_info'):
            continue
        for i in range(len(base)):
            path = base.get_data_info(i).get('img_path')
            if isinstance(path, str):
                yield path, loader


def _read(item: Tuple[str, Callable]) -> Optional[str]:
    """None if the loader reads the image, else why not."""
    path, loader = item
    try:
        results = loader(dict(img_path=path))
    except Exception as error:  # what the loader raises for this file is what training would stop with
        return f'{type(error).__name__}: {error}'.strip()
    if results is None or results.get('img') is None:
        return 'no image decoded'
    return None


def unreadable_images(files: Dict[str, Callable], num_workers: int = 8) -> List[Tuple[str, str]]:
    """``(path, reason)`` of each file its loader cannot read, decoding ``num_workers`` at a time (the decoders
    release the GIL), with mmengine's progress bar."""
    with ThreadPoolExecutor(num_workers) as pool:
        reasons = track_iter_progress((pool.map(_read, files.items(), chunksize=64), len(files)), file=sys.stdout)
        # `reasons` before `files`: zip asks it for one item more, which ends the bar (last update, newline)
        return [(path, reason) for reason, path in zip(reasons, files) if reason is not None]
