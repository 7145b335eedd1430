"""Data: the embedded digits set, readers of the official formats, measured device files.

:mod:`~cimsweep.data.splits` prepares seeded, stratified splits (re-exported here);
:mod:`~cimsweep.data.formats` reads CIFAR, MNIST and image folders;
:mod:`~cimsweep.data.device_files` reads measured memory states and output-noise tables;
:mod:`~cimsweep.data.download` fetches the public data sets.
"""

from cimsweep.data.splits import (
    AUGMENTED_BY_DEFAULT,
    DATASETS,
    FOLDER_DATASETS,
    DatasetInfo,
    channel_stats,
    check_data_dir,
    check_split,
    dataset_info,
    load_raw,
    normalize,
    prepare,
    random_crop_flip,
    split_info,
    stratified_head,
    stratified_split,
)

__all__ = [
    "AUGMENTED_BY_DEFAULT",
    "DATASETS",
    "FOLDER_DATASETS",
    "DatasetInfo",
    "channel_stats",
    "check_data_dir",
    "check_split",
    "dataset_info",
    "load_raw",
    "normalize",
    "prepare",
    "random_crop_flip",
    "split_info",
    "stratified_head",
    "stratified_split",
]
