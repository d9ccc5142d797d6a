"""TFRecord files and ``tf.train.Example`` without TensorFlow.

A TFRecord file (optionally gzip-compressed as a whole) is a sequence of records:

    uint64 length (little-endian) | uint32 masked_crc32c(length) | data | uint32 masked_crc32c(data)

``masked(crc) = ((crc >> 15) | (crc << 17)) + 0xa282ead8`` (mod 2**32). Each record of
AndroidControl's shards is a serialized ``tf.train.Example``; its message classes are built
here from descriptors written in Python (field numbers as in TensorFlow's ``feature.proto``
and ``example.proto``), in a private descriptor pool so an installed TensorFlow is never
disturbed. Checksums are verified: a corrupt or cut download is an error naming the file
and the record, not silently wrong data.
"""

from __future__ import annotations

import gzip
import struct
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

from qvl_agent.envs.errors import ConfigError

__all__ = ["crc32c", "masked_crc32c", "read_records", "write_records", "example_class",
           "parse_example", "make_example", "message_classes"]

_MASK_DELTA = 0xA282EAD8


@lru_cache(maxsize=1)
def _table() -> tuple[int, ...]:
    table = []
    for n in range(256):
        crc = n
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
        table.append(crc)
    return tuple(table)


def crc32c(data: bytes) -> int:
    """CRC-32C (Castagnoli), the checksum TFRecord uses; the C library when it is installed."""
    try:
        import google_crc32c  # optional: ~1000x faster on multi-megabyte screenshots

        return int(google_crc32c.value(bytes(data)))
    except ImportError:
        pass
    table = _table()
    crc = 0xFFFFFFFF
    for byte in data:
        crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def masked_crc32c(data: bytes) -> int:
    crc = crc32c(data)
    return (((crc >> 15) | (crc << 17)) + _MASK_DELTA) & 0xFFFFFFFF


def _open(path: Path, mode: str, compression: str | None) -> Any:
    if compression is None:  # published shards say .gz or not in their name; else sniff
        with open(path, "rb") as f:
            compression = "gzip" if f.read(2) == b"\x1f\x8b" else ""
    return gzip.open(path, mode) if compression == "gzip" else open(path, mode)


def read_records(path: Path, *, compression: str | None = None, verify: bool = True) -> Iterator[bytes]:
    """Each record's bytes. ``compression``: "gzip", "" (none) or None (detect).

    Raises:
        ConfigError: a truncated file or a checksum mismatch, naming the file and record.
    """
    path = Path(path)
    with _open(path, "rb", compression) as f:
        index = 0
        while True:
            try:
                header = f.read(12)
            except (OSError, EOFError) as exc:
                raise ConfigError(f"{path}: cannot read record {index}: {exc}") from None
            if not header:
                return
            if len(header) < 12:
                raise ConfigError(f"{path}: record {index} is cut off (file truncated?)")
            length_bytes, length_crc = header[:8], struct.unpack("<I", header[8:])[0]
            if verify and masked_crc32c(length_bytes) != length_crc:
                raise ConfigError(f"{path}: record {index} has a bad length checksum "
                                  "(not a TFRecord file, or corrupt)")
            (length,) = struct.unpack("<Q", length_bytes)
            try:
                data = f.read(length)
                footer = f.read(4)
            except (OSError, EOFError) as exc:
                raise ConfigError(f"{path}: cannot read record {index}: {exc}") from None
            if len(data) < length or len(footer) < 4:
                raise ConfigError(f"{path}: record {index} is cut off (file truncated?)")
            if verify and masked_crc32c(data) != struct.unpack("<I", footer)[0]:
                raise ConfigError(f"{path}: record {index} has a bad data checksum (corrupt download?)")
            yield data
            index += 1


def write_records(path: Path, records: list[bytes] | Iterator[bytes], *, gzipped: bool = True) -> Path:
    """Write records in the TFRecord framing (gzip-compressed like AndroidControl's shards)."""
    path = Path(path)
    with (gzip.open(path, "wb") if gzipped else open(path, "wb")) as f:
        for data in records:
            length = struct.pack("<Q", len(data))
            f.write(length + struct.pack("<I", masked_crc32c(length)))
            f.write(data + struct.pack("<I", masked_crc32c(data)))
    return path


# -- protobuf messages, declared in Python -----------------------------------------------

_F = descriptor_pb2.FieldDescriptorProto


def _field(message: Any, name: str, number: int, kind: int, *, repeated: bool = False,
           type_name: str | None = None, packed: bool = False) -> None:
    field = message.field.add(name=name, number=number, type=kind,
                              label=_F.LABEL_REPEATED if repeated else _F.LABEL_OPTIONAL)
    if type_name:
        field.type_name = type_name
    if packed:
        field.options.packed = True


def _example_file() -> descriptor_pb2.FileDescriptorProto:
    file = descriptor_pb2.FileDescriptorProto(name="qvl_tf_example.proto", package="tensorflow",
                                              syntax="proto3")
    for name, kind, packed in (("BytesList", _F.TYPE_BYTES, False), ("FloatList", _F.TYPE_FLOAT, True),
                               ("Int64List", _F.TYPE_INT64, True)):
        _field(file.message_type.add(name=name), "value", 1, kind, repeated=True, packed=packed)
    feature = file.message_type.add(name="Feature")
    feature.oneof_decl.add(name="kind")
    for name, number, type_name in (("bytes_list", 1, "BytesList"), ("float_list", 2, "FloatList"),
                                    ("int64_list", 3, "Int64List")):
        _field(feature, name, number, _F.TYPE_MESSAGE, type_name=f".tensorflow.{type_name}")
        feature.field[-1].oneof_index = 0
    features = file.message_type.add(name="Features")
    entry = features.nested_type.add(name="FeatureEntry")
    entry.options.map_entry = True
    _field(entry, "key", 1, _F.TYPE_STRING)
    _field(entry, "value", 2, _F.TYPE_MESSAGE, type_name=".tensorflow.Feature")
    _field(features, "feature", 1, _F.TYPE_MESSAGE, repeated=True,
           type_name=".tensorflow.Features.FeatureEntry")
    _field(file.message_type.add(name="Example"), "features", 1, _F.TYPE_MESSAGE,
           type_name=".tensorflow.Features")
    return file


def _forest_file() -> descriptor_pb2.FileDescriptorProto:
    """The parts of android_env's accessibility protos that AndroidControl's trees need."""
    file = descriptor_pb2.FileDescriptorProto(name="qvl_a11y_forest.proto", package="android_env",
                                              syntax="proto3")
    rect = file.message_type.add(name="ProtoRect")
    for number, name in enumerate(("left", "top", "right", "bottom"), start=1):
        _field(rect, name, number, _F.TYPE_INT32)
    node = file.message_type.add(name="AndroidAccessibilityNodeInfo")
    _field(node, "unique_id", 1, _F.TYPE_INT32)
    _field(node, "bounds_in_screen", 2, _F.TYPE_MESSAGE, type_name=".android_env.ProtoRect")
    for name, number in (("class_name", 3), ("content_description", 4), ("hint_text", 5),
                         ("package_name", 6), ("text", 7), ("view_id_resource_name", 10)):
        _field(node, name, number, _F.TYPE_STRING)
    for name, number in (("is_checkable", 12), ("is_checked", 13), ("is_clickable", 14),
                         ("is_editable", 15), ("is_enabled", 16), ("is_long_clickable", 19),
                         ("is_scrollable", 21), ("is_visible_to_user", 23)):
        _field(node, name, number, _F.TYPE_BOOL)
    _field(node, "child_ids", 25, _F.TYPE_INT32, repeated=True, packed=True)
    _field(node, "depth", 27, _F.TYPE_INT32)
    tree = file.message_type.add(name="AndroidAccessibilityTree")
    _field(tree, "nodes", 1, _F.TYPE_MESSAGE, repeated=True,
           type_name=".android_env.AndroidAccessibilityNodeInfo")
    window = file.message_type.add(name="AndroidAccessibilityWindowInfo")
    _field(window, "bounds_in_screen", 1, _F.TYPE_MESSAGE, type_name=".android_env.ProtoRect")
    _field(window, "id", 3, _F.TYPE_INT32)
    _field(window, "layer", 4, _F.TYPE_INT32)
    _field(window, "title", 5, _F.TYPE_STRING)
    _field(window, "window_type", 6, _F.TYPE_INT32)  # an enum on the wire is a varint too
    _field(window, "tree", 11, _F.TYPE_MESSAGE, type_name=".android_env.AndroidAccessibilityTree")
    _field(file.message_type.add(name="AndroidAccessibilityForest"), "windows", 1, _F.TYPE_MESSAGE,
           repeated=True, type_name=".android_env.AndroidAccessibilityWindowInfo")
    return file


@lru_cache(maxsize=1)
def message_classes() -> dict[str, type]:
    """Message classes by full name (``tensorflow.Example``, ``android_env.ProtoRect``, ...)."""
    pool = descriptor_pool.DescriptorPool()
    classes: dict[str, type] = {}
    for file in (_example_file(), _forest_file()):
        pool.AddSerializedFile(file.SerializeToString())  # in every protobuf backend
        file_descriptor = pool.FindFileByName(file.name)
        for name in file_descriptor.message_types_by_name:
            full = f"{file.package}.{name}"
            classes[full] = message_factory.GetMessageClass(pool.FindMessageTypeByName(full))
    return classes


def example_class() -> type:
    return message_classes()["tensorflow.Example"]


def parse_example(data: bytes) -> dict[str, list[Any]]:
    """A serialized ``tf.train.Example`` as ``{feature name: list of values}``."""
    from google.protobuf.message import DecodeError

    example = example_class()()
    try:
        example.ParseFromString(data)
    except DecodeError as exc:
        raise ConfigError(f"a record is not a tf.train.Example: {exc}") from None
    out: dict[str, list[Any]] = {}
    for name, feature in example.features.feature.items():
        kind = feature.WhichOneof("kind")
        out[name] = list(getattr(feature, kind).value) if kind else []
    return out


def make_example(features: dict[str, list[Any]]) -> bytes:
    """A serialized ``tf.train.Example``: bytes/str lists, int lists and float lists."""
    example = example_class()()
    for name, values in features.items():
        feature = example.features.feature[name]
        if all(isinstance(v, (bytes, str)) for v in values) and values:
            feature.bytes_list.value.extend(v.encode() if isinstance(v, str) else v for v in values)
        elif all(isinstance(v, int) and not isinstance(v, bool) for v in values):
            feature.int64_list.value.extend(values)
        else:
            feature.float_list.value.extend(float(v) for v in values)
    return example.SerializeToString()
