"""A reader of TensorFlow's tensor-bundle checkpoints (V2: `<prefix>.index` + `<prefix>.data-*`),
in plain Python + numpy: no TensorFlow, no protobuf code generation.

The format (tensorflow/core/util/tensor_bundle, tensorflow/core/lib/io/table):
- `<prefix>.index` is an SSTable (LevelDB's table format): data blocks of key/value entries
  with prefix-compressed keys (each entry: varint32 shared, varint32 non_shared, varint32
  value_length, key delta, value; every `restart_interval` entries the key is stored whole and
  its offset listed in the block's restart array), each block followed by a 5-byte trailer
  (compression type, masked crc32c); an index block maps the last key of each data block to its
  BlockHandle (varint64 offset, varint64 size); the 48-byte footer holds the metaindex and index
  handles and the magic 0xdb4775248b80fb57.
- The value under the empty key is a BundleHeaderProto {1 num_shards, 2 endianness, 3 version};
  every other key is a tensor name whose value is a BundleEntryProto {1 dtype, 2 shape
  (TensorShapeProto {2 dim {1 size}}), 3 shard_id, 4 offset, 5 size, 6 crc32c (fixed32, masked),
  7 slices}.
- `<prefix>.data-%05d-of-%05d` holds each tensor's bytes at (offset, size) in the shard,
  little-endian (endianness 0), C order.

    from spleeter.checkpoint import read_checkpoint
    tensors = read_checkpoint(".../pretrained_models/2stems/model")   # {name: np.ndarray}
"""
import os
import struct

import numpy as np

TABLE_MAGIC = 0xDB4775248B80FB57
FOOTER_LEN = 48
BLOCK_TRAILER_LEN = 5

# tensorflow/core/framework/types.proto
DTYPES = {
    1: np.float32, 2: np.float64, 3: np.int32, 4: np.uint8, 5: np.int16, 6: np.int8, 7: object,
    9: np.int64, 10: np.bool_, 14: "bfloat16", 17: np.uint16, 19: np.float16, 22: np.uint32, 23: np.uint64,
}


class CheckpointError(ValueError):
    pass


# ---------------------------------------------------------------- protobuf wire format (minimal)

def read_varint(buf, pos):
    result = 0
    shift = 0
    while True:
        if pos >= len(buf):
            raise CheckpointError("truncated varint")
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise CheckpointError("varint too long")


def parse_message(buf):
    """Decode one protobuf message into {field_number: [values]} (varint → int, 64-bit → bytes(8),
    length-delimited → bytes, 32-bit → bytes(4))."""
    fields = {}
    pos = 0
    n = len(buf)
    while pos < n:
        key, pos = read_varint(buf, pos)
        field, wire = key >> 3, key & 7
        if wire == 0:
            val, pos = read_varint(buf, pos)
        elif wire == 1:
            val, pos = bytes(buf[pos:pos + 8]), pos + 8
        elif wire == 2:
            ln, pos = read_varint(buf, pos)
            val, pos = bytes(buf[pos:pos + ln]), pos + ln
        elif wire == 5:
            val, pos = bytes(buf[pos:pos + 4]), pos + 4
        else:
            raise CheckpointError(f"unsupported protobuf wire type {wire}")
        if pos > n:
            raise CheckpointError("truncated protobuf message")
        fields.setdefault(field, []).append(val)
    return fields


def _one(fields, num, default=0):
    v = fields.get(num)
    return v[-1] if v else default


def parse_shape(buf):
    f = parse_message(buf)
    if _one(f, 3):
        raise CheckpointError("tensor of unknown rank")
    dims = []
    for d in f.get(2, []):
        size = _one(parse_message(d), 1)
        if size >= 1 << 63:
            size -= 1 << 64
        dims.append(size)
    return tuple(dims)


def parse_entry(buf):
    f = parse_message(buf)
    crc = _one(f, 6, None)
    return {
        "dtype": _one(f, 1),
        "shape": parse_shape(_one(f, 2, b"")),
        "shard_id": _one(f, 3),
        "offset": _one(f, 4),
        "size": _one(f, 5),
        "crc32c": struct.unpack("<I", crc)[0] if crc is not None else None,
        "sliced": bool(f.get(7)),
    }


def parse_header(buf):
    f = parse_message(buf)
    version = parse_message(_one(f, 3, b""))
    return {"num_shards": _one(f, 1), "endianness": _one(f, 2), "version": _one(version, 1)}


# ---------------------------------------------------------------- SSTable

def _block_handle(buf, pos):
    off, pos = read_varint(buf, pos)
    size, pos = read_varint(buf, pos)
    return (off, size), pos


def _read_block(data, handle, verify):
    off, size = handle
    if off + size + BLOCK_TRAILER_LEN > len(data):
        raise CheckpointError("block beyond the end of the table")
    block = data[off:off + size]
    ctype = data[off + size]
    if verify:
        want = struct.unpack("<I", data[off + size + 1:off + size + 5])[0]
        got = masked_crc32c(data[off:off + size + 1])   # the crc covers the block and its type byte
        if got != want:
            raise CheckpointError(f"block crc mismatch at offset {off}")
    if ctype != 0:
        raise CheckpointError(f"compressed table block (type {ctype}) is not supported")
    return block


def iter_block(block):
    """Yield (key, value) of one table block, undoing the prefix compression."""
    if len(block) < 4:
        raise CheckpointError("block too short")
    num_restarts = struct.unpack_from("<I", block, len(block) - 4)[0]
    limit = len(block) - 4 - 4 * num_restarts
    if limit < 0:
        raise CheckpointError("bad restart count")
    restarts = struct.unpack_from(f"<{num_restarts}I", block, limit)
    restart_set = set(restarts)
    pos = 0
    key = b""
    while pos < limit:
        at = pos
        shared, pos = read_varint(block, pos)
        non_shared, pos = read_varint(block, pos)
        vlen, pos = read_varint(block, pos)
        if at in restart_set and shared != 0:
            raise CheckpointError("restart entry with a shared key prefix")
        if shared > len(key):
            raise CheckpointError("shared prefix longer than the previous key")
        key = key[:shared] + bytes(block[pos:pos + non_shared])
        pos += non_shared
        value = block[pos:pos + vlen]
        pos += vlen
        if pos > limit:
            raise CheckpointError("entry runs into the restart array")
        yield key, value


def iter_table(data, verify=True):
    """Yield every (key, value) of an SSTable held in `data` (bytes), in key order."""
    if len(data) < FOOTER_LEN:
        raise CheckpointError("file too short for a table footer")
    footer = data[-FOOTER_LEN:]
    magic = struct.unpack_from("<Q", footer, FOOTER_LEN - 8)[0]
    if magic != TABLE_MAGIC:
        raise CheckpointError("not a TensorFlow/LevelDB table (bad magic)")
    _metaindex, pos = _block_handle(footer, 0)
    index_handle, _ = _block_handle(footer, pos)
    index = _read_block(data, index_handle, verify)
    for _last_key, handle_bytes in iter_block(index):
        handle, _ = _block_handle(handle_bytes, 0)
        yield from iter_block(_read_block(data, handle, verify))


# ---------------------------------------------------------------- crc32c (Castagnoli), numpy-vectorised

_POLY = 0x82F63B78


def _make_table():
    t = np.zeros(256, dtype=np.uint32)
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ _POLY if c & 1 else c >> 1
        t[i] = c
    return t


_TABLE = _make_table()
_TABLE_LIST = [int(v) for v in _TABLE]


def _crc_raw_py(state, data):
    t = _TABLE_LIST
    for b in data:
        state = t[(state ^ b) & 0xFF] ^ (state >> 8)
    return state


def _gf2_mat_times(mat, vec):
    s = 0
    i = 0
    while vec:
        if vec & 1:
            s ^= mat[i]
        vec >>= 1
        i += 1
    return s


def _gf2_mat_square(mat):
    return [_gf2_mat_times(mat, mat[n]) for n in range(32)]


def _zeros_operator(nbytes):
    """The 32×32 GF(2) matrix (list of column images) that advances a raw crc register over
    `nbytes` zero bytes."""
    # one zero bit: reflected CRC shift
    odd = [_POLY] + [1 << (n - 1) for n in range(1, 32)]
    result = None
    op = odd
    nbits = nbytes * 8
    while nbits:
        if nbits & 1:
            result = op if result is None else [_gf2_mat_times(op, result[n]) for n in range(32)]
        nbits >>= 1
        if nbits:
            op = _gf2_mat_square(op)
    return result if result is not None else [1 << n for n in range(32)]


def crc32c(data):
    """CRC-32C of `data` (bytes-like). Long inputs are split into equal lanes whose raw CRCs are
    computed side by side with numpy and combined with the GF(2) zero-shift operator."""
    buf = np.frombuffer(memoryview(data), dtype=np.uint8)
    n = buf.size
    if n < 4096:
        return _crc_raw_py(0xFFFFFFFF, bytes(buf)) ^ 0xFFFFFFFF
    lanes = min(4096, n // 1024)
    L = -(-n // lanes)
    pad = lanes * L - n
    # raw CRC is linear: crc(init, M) = shift(init, |M|) ^ crc(0, M), and leading zeros do not
    # change crc(0, ·), so zero-pad at the front and process lanes of length L in parallel.
    padded = np.concatenate([np.zeros(pad, np.uint8), buf]).reshape(lanes, L)
    state = np.zeros(lanes, dtype=np.uint32)
    cols = np.ascontiguousarray(padded.T)
    for j in range(L):
        state = _TABLE[(state ^ cols[j]) & 0xFF] ^ (state >> 8)
    shift_L = _zeros_operator(L)
    acc = 0
    for v in state.tolist():
        acc = _gf2_mat_times(shift_L, acc) ^ v
    init = _gf2_mat_times(_zeros_operator(n), 0xFFFFFFFF)
    return (init ^ acc) ^ 0xFFFFFFFF


def masked_crc32c(data):
    c = crc32c(data)
    return ((((c >> 15) | (c << 17)) & 0xFFFFFFFF) + 0xA282EAD8) & 0xFFFFFFFF


# ---------------------------------------------------------------- the bundle

def read_index(prefix, verify=True):
    """(header, {name: entry}) from `<prefix>.index`."""
    with open(prefix + ".index", "rb") as f:
        data = f.read()
    header = None
    entries = {}
    for key, value in iter_table(data, verify):
        if key == b"":
            header = parse_header(value)
        else:
            entries[key.decode("utf-8")] = parse_entry(value)
    if header is None:
        raise CheckpointError("no bundle header (empty key) in the index")
    if header["endianness"] != 0:
        raise CheckpointError("big-endian bundles are not supported")
    return header, entries


def _decode_strings(raw, count):
    pos = 0
    lengths = []
    for _ in range(count):
        ln, pos = read_varint(raw, pos)
        lengths.append(ln)
    pos += 4   # masked crc32c of the lengths
    out = []
    for ln in lengths:
        out.append(bytes(raw[pos:pos + ln]))
        pos += ln
    return np.array(out, dtype=object)


def read_checkpoint(prefix, verify=True, include=None):
    """{tensor name: np.ndarray} of a TF V2 checkpoint. `prefix` is the path without `.index`
    (e.g. ".../2stems/model"). With `verify`, table-block and tensor crc32c are checked.
    `include(name) -> bool` filters tensors (e.g. to skip `global_step`)."""
    header, entries = read_index(prefix, verify)
    nshards = header["num_shards"]
    shards = {}
    out = {}
    try:
        for name, e in entries.items():
            if include is not None and not include(name):
                continue
            if e["sliced"]:
                raise CheckpointError(f"{name}: partitioned (sliced) tensors are not supported")
            sid = e["shard_id"]
            if sid not in shards:
                path = f"{prefix}.data-{sid:05d}-of-{nshards:05d}"
                if not os.path.exists(path):
                    raise CheckpointError(f"missing shard {path}")
                shards[sid] = open(path, "rb")
            f = shards[sid]
            f.seek(e["offset"])
            raw = f.read(e["size"])
            if len(raw) != e["size"]:
                raise CheckpointError(f"{name}: shard too short")
            if verify and e["crc32c"] is not None and masked_crc32c(raw) != e["crc32c"]:
                raise CheckpointError(f"{name}: crc32c mismatch")
            dt = DTYPES.get(e["dtype"])
            if dt is None or dt == "bfloat16":
                raise CheckpointError(f"{name}: unsupported dtype {e['dtype']}")
            count = int(np.prod(e["shape"], dtype=np.int64)) if e["shape"] else 1
            if dt is object:
                arr = _decode_strings(raw, count).reshape(e["shape"])
            else:
                arr = np.frombuffer(raw, dtype=np.dtype(dt).newbyteorder("<")).reshape(e["shape"]).copy()
            out[name] = arr
    finally:
        for f in shards.values():
            f.close()
    return out


if __name__ == "__main__":
    import sys
    t = read_checkpoint(sys.argv[1])
    for k in sorted(t):
        print(k, t[k].dtype, t[k].shape)
    print(len(t), "tensors")
