import os.path as osp

from mmpretrain.datasets import CIFAR10

from mmdarts.registry import DATASETS


@DATASETS.register_module()
class LocalCIFAR10(CIFAR10):
    """CIFAR-10 in the official on-disk format (``cifar-10-batches-py/data_batch_1`` ...) read from a local folder,
    without the md5 check of the official release and without download.

    mmpretrain's ``CIFAR10`` refuses any copy whose six batch files are not byte-identical to the official release,
    which rules out re-packed copies and locally written data (tests, subsets). This class checks instead that every
    file exists, and names the missing ones. For the official data prefer ``CIFAR10`` (it can also download).

    Args:
        data_root (str): the folder holding ``cifar-10-batches-py``.
        **kwargs: as for mmpretrain's ``CIFAR10`` (``split``, ``pipeline``, ``test_mode`` ...); ``download`` must
            not be True.
    """

    def __init__(self, data_root: str = '', **kwargs):
        if kwargs.get('download'):
            raise ValueError(f'{type(self).__name__} reads local files only; use CIFAR10 with download=True instead')
        kwargs['download'] = False
        super().__init__(data_root=data_root, **kwargs)

    def _check_integrity(self) -> bool:
        folder = osp.join(self.data_prefix['root'], self.base_folder)
        missing = [osp.join(folder, name) for name, _ in self.train_list + self.test_list
                   if not osp.isfile(osp.join(folder, name))]
        if missing:
            raise FileNotFoundError(f'{type(self).__name__}: data_root={self.data_prefix["root"]!r} lacks '
                                    f'{len(missing)} file(s) of the CIFAR on-disk format: {missing}')
        return True
