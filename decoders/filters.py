"""Light-client filters: BIP37 bloom filters (filterload, filteradd,
filterclear) and BIP157 compact block filters (getcfilters, cfilter,
getcfheaders, cfheaders, getcfcheckpt, cfcheckpt).

Follows dashpay/dash src/common/bloom.h (``CBloomFilter``: vData,
nHashFuncs, nTweak, nFlags), src/blockfilter.h (``BlockFilter``
serialisation) and src/net_processing.cpp (``ProcessGetCFilters``,
``ProcessGetCFHeaders``, ``ProcessGetCFCheckPt`` and the FILTERLOAD /
FILTERADD handlers).  Field names follow those handlers' variables.

Size limits (filter <= 36000 bytes, <= 50 hash functions, filteradd
element <= 520 bytes; 1000 filters / 2000 filter headers per request) are
checked by Core after parsing, as misbehaviour, so they are not layout
errors here.
"""

from __future__ import annotations

from construct import Int8ub, Int32ul, Terminated

from .primitives import Hash256, VarBytes
from .structs import Named, Struct
from .vectors import HashArray

# bloom.h bloomflags (nFlags & BLOOM_UPDATE_MASK).
BLOOM_FLAG_NAMES: dict[int, str] = {
    0: "BLOOM_UPDATE_NONE",
    1: "BLOOM_UPDATE_ALL",
    2: "BLOOM_UPDATE_P2PUBKEY_ONLY",
}

# blockfilter.h BlockFilterType.
FILTER_TYPE_NAMES: dict[int, str] = {
    0: "BASIC",
}


# CBloomFilter (bloom.h): vData, nHashFuncs, nTweak, nFlags.  Core reads
# it without size checks; an empty filter is common.  Also the filter of
# governance.py's ``govsync``.
BloomFilter = Struct(
    "data" / VarBytes(),
    "hash_funcs" / Int32ul,
    "tweak" / Int32ul,
    "flags" / Int8ub,
    "flags_name" / Named(BLOOM_FLAG_NAMES, "flags"),
)

# ``filterload``: the filter alone.
FilterLoad = Struct(
    *BloomFilter.subcons,
    Terminated,
)

# ``std::vector<unsigned char> vData; vRecv >> vData;``
FilterAdd = Struct(
    "data" / VarBytes(),
    Terminated,
)

FilterClear = Struct(Terminated)

# getcfilters / getcfheaders: ``vRecv >> filter_type_ser >> start_height >> stop_hash``.
FilterRangeRequest = Struct(
    "filter_type" / Int8ub,
    "filter_type_name" / Named(FILTER_TYPE_NAMES, "filter_type"),
    "start_height" / Int32ul,
    "stop_hash" / Hash256,
    Terminated,
)

# BlockFilter: m_filter_type, m_block_hash, m_filter.GetEncoded().
CFilter = Struct(
    "filter_type" / Int8ub,
    "filter_type_name" / Named(FILTER_TYPE_NAMES, "filter_type"),
    "block_hash" / Hash256,
    "filter" / VarBytes(),
    Terminated,
)

# Make(CFHEADERS, filter_type_ser, stop hash, prev_header, filter_hashes).
CFHeaders = Struct(
    "filter_type" / Int8ub,
    "filter_type_name" / Named(FILTER_TYPE_NAMES, "filter_type"),
    "stop_hash" / Hash256,
    "prev_header" / Hash256,
    "filter_hashes" / HashArray(),
    Terminated,
)

# ``vRecv >> filter_type_ser >> stop_hash``.
GetCFCheckpt = Struct(
    "filter_type" / Int8ub,
    "filter_type_name" / Named(FILTER_TYPE_NAMES, "filter_type"),
    "stop_hash" / Hash256,
    Terminated,
)

# Make(CFCHECKPT, filter_type_ser, stop hash, headers): one filter header
# every 1000 blocks (CFCHECKPT_INTERVAL).
CFCheckpt = Struct(
    "filter_type" / Int8ub,
    "filter_type_name" / Named(FILTER_TYPE_NAMES, "filter_type"),
    "stop_hash" / Hash256,
    "headers" / HashArray(),
    Terminated,
)

MESSAGES = {
    "filterload": FilterLoad,
    "filteradd": FilterAdd,
    "filterclear": FilterClear,
    "getcfilters": FilterRangeRequest,
    "cfilter": CFilter,
    "getcfheaders": FilterRangeRequest,
    "cfheaders": CFHeaders,
    "getcfcheckpt": GetCFCheckpt,
    "cfcheckpt": CFCheckpt,
}

# The info column (see control.py SUMMARIES).
_RANGE = (("filter_type", "name"), ("start_height", "plain", "from height"), ("stop_hash", "hash", "stop"))
SUMMARIES = {
    "filterload": (("flags", "name"), ("hash_funcs", "plain", "hash funcs"), ("tweak", "plain")),
    "filteradd": (("data", "hash"),),
    "filterclear": ("remove the bloom filter",),
    "getcfilters": _RANGE,
    "cfilter": (("filter_type", "name"), ("block_hash", "hash", "block"), ("filter", "hash")),
    "getcfheaders": _RANGE,
    "cfheaders": (("filter_type", "name"), ("stop_hash", "hash", "stop"), ("filter_hashes", "count", "hashes")),
    "getcfcheckpt": (("filter_type", "name"), ("stop_hash", "hash", "stop")),
    "cfcheckpt": (("filter_type", "name"), ("stop_hash", "hash", "stop"), ("headers", "count", "headers")),
}  # fmt: skip
