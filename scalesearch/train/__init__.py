"""Proxy training: score a candidate network by a short training run on a small data set.

``load_data`` reads a data source once per process; ``train_proxy`` trains a candidate's reduced proxy and
returns a ``ProxyResult``; ``set_threads`` fixes torch's thread count before a worker starts.
"""

from scalesearch.train.datasets import Dataset
from scalesearch.train.load import DEFAULT_DATA, load_data
from scalesearch.train.proxy import ProxyConfig, ProxyResult, proxy_spec, train_proxy
from scalesearch.train.runtime import available_cores, cuda_device_count, resolve_device, set_threads

__all__ = [
    "DEFAULT_DATA", "Dataset", "ProxyConfig", "ProxyResult", "available_cores", "cuda_device_count", "load_data",
    "proxy_spec", "resolve_device",
    "set_threads", "train_proxy",
]
