"""Proxy training: score a candidate network by a short training run on a small data set.

``load_data`` reads a data source once per process; ``train_proxy`` trains a candidate's reduced proxy and
returns a ``ProxyResult``; ``set_threads`` fixes torch's thread count before a worker starts.
"""

from scalesearch.train.data import DEFAULT_DATA, Dataset, load_data
from scalesearch.train.proxy import ProxyConfig, ProxyResult, proxy_spec, train_proxy
from scalesearch.train.runtime import resolve_device, set_threads

__all__ = [
    "DEFAULT_DATA", "Dataset", "ProxyConfig", "ProxyResult", "load_data", "proxy_spec", "resolve_device",
    "set_threads", "train_proxy",
]
