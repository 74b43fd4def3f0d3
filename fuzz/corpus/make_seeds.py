#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets (fuzz/corpus/<target>/) from readable
descriptions: real PDU streams, real login key sets, real CDBs, real PR OUT parameter lists
and the documented configuration examples. Run it from anywhere; it rewrites the seeds.
The input formats are documented at the top of each fuzz/*_fuzz.cc."""
import os
import re
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
TARGET = "iqn.2024-01.org.stgt:fuzz"
INITIATOR = "iqn.1994-05.com.example:host1"


def write(target, name, data):
    d = os.path.join(HERE, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def keys(*pairs):
    return b"".join(f"{k}={v}".encode() + b"\0" for k, v in pairs)


OPERATIONAL = [
    ("HeaderDigest", "None"), ("DataDigest", "None"), ("MaxRecvDataSegmentLength", "65536"),
    ("InitialR2T", "No"), ("ImmediateData", "Yes"), ("MaxBurstLength", "262144"),
    ("FirstBurstLength", "65536"), ("MaxOutstandingR2T", "1"), ("ErrorRecoveryLevel", "0"),
    ("DefaultTime2Wait", "2"), ("DefaultTime2Retain", "20"), ("DataPDUInOrder", "Yes"),
    ("DataSequenceInOrder", "Yes"), ("MaxConnections", "1"),
]

# ---------------------------------------------------------------- iSCSI PDUs (RFC 7143 11)


def pad(b):
    return b + b"\0" * (-len(b) % 4)


def bhs(op, flags, data=b"", lun=0, itt=0, f20=0, f24=0, f28=0, f32=0, f36=0, f40=0, f44=0,
        spec=b"\0\0"):
    h = bytearray(48)
    h[0] = op
    h[1] = flags
    h[2:4] = spec
    h[5:8] = struct.pack(">I", len(data))[1:]
    h[8:16] = struct.pack(">Q", lun)
    h[16:20] = struct.pack(">I", itt)
    for off, v in ((20, f20), (24, f24), (28, f28), (32, f32), (36, f36), (40, f40), (44, f44)):
        h[off:off + 4] = struct.pack(">I", v & 0xffffffff)
    return bytes(h) + pad(data)


ISID = bytes.fromhex("23d000000001")


def login(csg, nsg, transit, data, itt=0, cmd_sn=1, tsih=0):
    flags = (0x80 if transit else 0) | (csg << 2) | nsg
    h = bytearray(bhs(0x43, flags, data, itt=itt, f24=cmd_sn))
    h[8:14] = ISID
    h[14:16] = struct.pack(">H", tsih)
    h[20:22] = struct.pack(">H", 1)  # CID
    return bytes(h)


def normal_login():
    return login(1, 3, True, keys(("InitiatorName", INITIATOR), ("TargetName", TARGET),
                                  ("SessionType", "Normal"), *OPERATIONAL))


def scsi_cmd(cdb, itt, cmd_sn, read=0, write=0, data=b"", lun=0, attr=1, final=True):
    flags = (0x80 if final else 0) | (0x40 if read else 0) | (0x20 if write else 0) | attr
    cdb = cdb + b"\0" * (16 - len(cdb))
    h = bytearray(bhs(0x01, flags, data, lun=lun << 48, itt=itt, f20=read or write, f24=cmd_sn))
    h[32:48] = cdb
    return bytes(h)


def data_out(itt, ttt, offset, data, data_sn=0, final=True):
    return bhs(0x05, 0x80 if final else 0, data, itt=itt, f20=ttt, f36=data_sn, f40=offset)


def cdb10(op, lba, blocks, byte1=0):
    return bytes([op, byte1]) + struct.pack(">IBH", lba, 0, blocks) + b"\0"


def pdu_seeds():
    w = "pdu_fuzz"
    lg = normal_login()
    write(w, "login_only", lg)
    write(w, "login_security_stage",
          login(0, 1, True, keys(("InitiatorName", INITIATOR), ("TargetName", TARGET),
                                 ("SessionType", "Normal"), ("AuthMethod", "None")))
          + login(1, 3, True, keys(*OPERATIONAL), itt=1))
    inquiry = bytes([0x12, 0, 0, 0, 96, 0])
    write(w, "inquiry_readcap_read",
          lg + scsi_cmd(inquiry, 1, 1, read=96)
          + scsi_cmd(bytes([0x25]) + b"\0" * 9, 2, 2, read=8)
          + scsi_cmd(cdb10(0x28, 0, 8), 3, 3, read=4096)
          + scsi_cmd(bytes([0xa0, 0, 0, 0, 0, 0, 0, 0, 0x10, 0, 0, 0]), 4, 4, read=4096))
    block = bytes(range(256)) * 2
    write(w, "write_immediate", lg + scsi_cmd(cdb10(0x2a, 8, 1), 1, 1, write=512, data=block))
    # 8 blocks: 1 immediate, the rest unsolicited (InitialR2T=No) then solicited by R2T.
    write(w, "write_data_out",
          lg + scsi_cmd(cdb10(0x2a, 16, 8), 1, 1, write=4096, data=block)
          + data_out(1, 0xffffffff, 512, block * 3, final=True)
          + data_out(1, 0x1, 2048, block * 4, final=True))
    write(w, "text_nop_tmf_logout",
          lg + bhs(0x04, 0x80, keys(("SendTargets", "")), itt=1, f20=0xffffffff, f24=1)
          + bhs(0x40, 0x80, b"ping", itt=2, f20=0xffffffff, f24=2)
          + scsi_cmd(cdb10(0x2a, 0, 2), 3, 2, write=1024)
          + bhs(0x42, 0x81, itt=4, f20=3, f24=3, f32=2)  # ABORT TASK of ITT 3
          + bhs(0x42, 0x85, itt=5, f20=0xffffffff, f24=3)  # LOGICAL UNIT RESET
          + bhs(0x46, 0x80, itt=6, f24=3))  # logout: close the session
    write(w, "discovery_send_targets",
          login(1, 3, True, keys(("InitiatorName", INITIATOR), ("SessionType", "Discovery"),
                                 ("MaxRecvDataSegmentLength", "8192")))
          + bhs(0x44, 0x80, keys(("SendTargets", "All")), itt=1, f20=0xffffffff, f24=1)
          + bhs(0x46, 0x80, itt=2, f24=2))
    pr = struct.pack(">QQ", 0, 0x1234) + b"\0" * 8
    write(w, "ordered_and_pr",
          lg + scsi_cmd(bytes([0x5f, 0, 0, 0, 0, 0, 0, 0, 24, 0]), 1, 1, write=24, data=pr)
          + scsi_cmd(cdb10(0x28, 0, 1), 2, 2, read=512, attr=2)
          + scsi_cmd(bytes([0x00] * 6), 3, 3, attr=3)
          + scsi_cmd(bytes([0xa0, 0, 0, 0, 0, 0, 0, 0, 0x10, 0, 0, 0]), 4, 4, read=64, lun=1))

def digest_record(pdu, flags=0):
    # pdu_digest_fuzz: a flags byte, then the PDU without padding (the harness pads it and
    # adds the digests).
    dsl = struct.unpack(">I", b"\0" + pdu[5:8])[0]
    return bytes([flags]) + pdu[:48 + dsl]


def pdu_digest_seeds():
    w = "pdu_digest_fuzz"
    inquiry = bytes([0x12, 0, 0, 0, 96, 0])
    block = bytes(range(256)) * 2
    write(w, "inquiry_read", digest_record(scsi_cmd(inquiry, 1, 1, read=96))
          + digest_record(scsi_cmd(cdb10(0x28, 0, 8), 2, 2, read=4096)))
    write(w, "write_data_out",
          digest_record(scsi_cmd(cdb10(0x2a, 16, 8), 1, 1, write=4096, data=block))
          + digest_record(data_out(1, 0xffffffff, 512, block * 3))
          + digest_record(data_out(1, 0x1, 2048, block * 4)))
    write(w, "nop_with_odd_data", digest_record(bhs(0x40, 0x80, b"ping!", itt=1,
                                                     f20=0xffffffff, f24=1)))
    write(w, "text_then_logout",
          digest_record(bhs(0x04, 0x80, keys(("SendTargets", "All")), itt=1, f20=0xffffffff,
                            f24=1))
          + digest_record(bhs(0x46, 0x80, itt=2, f24=2)))
    write(w, "bad_header_digest", digest_record(scsi_cmd(inquiry, 1, 1, read=96), flags=1))
    write(w, "bad_data_digest",
          digest_record(scsi_cmd(cdb10(0x2a, 8, 1), 1, 1, write=512, data=block), flags=2))
    write(w, "raw_tail", digest_record(scsi_cmd(inquiry, 1, 1, read=96)) + b"\x04" + b"\x12" * 60)


# ---------------------------------------------------------------- login and text records


def record(csg, nsg, transit, data, cont=False, tsih=False):
    h = csg | nsg << 2 | (0x10 if transit else 0) | (0x20 if cont else 0) | (0x40 if tsih else 0)
    return bytes([h]) + struct.pack(">H", len(data)) + data


def login_seeds():
    w = "login_fuzz"
    ident = [("InitiatorName", INITIATOR), ("TargetName", TARGET), ("SessionType", "Normal")]
    write(w, "operational_only", b"\0" + record(1, 3, True, keys(*ident, *OPERATIONAL)))
    write(w, "security_then_operational",
          b"\0" + record(0, 1, True, keys(*ident, ("AuthMethod", "None")))
          + record(1, 3, True, keys(*OPERATIONAL)))
    write(w, "chap_offer",
          b"\x03" + record(0, 1, False, keys(*ident, ("AuthMethod", "CHAP,None")))
          + record(0, 1, False, keys(("CHAP_A", "7,6,5")))
          + record(0, 1, True, keys(("CHAP_N", "alice"), ("CHAP_R", "0x" + "ab" * 32),
                                    ("CHAP_I", "17"), ("CHAP_C", "0b" + "QUJD" * 8))))
    write(w, "discovery",
          b"\0" + record(1, 3, True, keys(("InitiatorName", INITIATOR), ("SessionType", "Discovery")))
          + record(3, 3, True, keys(("SendTargets", "All"))))
    long_alias = ("InitiatorAlias", "x" * 300)
    write(w, "continued_text",
          b"\0" + record(1, 3, True, keys(*ident)[:40], cont=True)
          + record(1, 3, True, keys(*ident)[40:] + keys(long_alias, *OPERATIONAL)))
    write(w, "odd_values",
          b"\0" + record(1, 3, True, keys(*ident, ("MaxRecvDataSegmentLength", "0x1000"),
                                          ("MaxBurstLength", "0b AAQAAA=="),
                                          ("FirstBurstLength", "999999999999"),
                                          ("HeaderDigest", "CRC32C,None"),
                                          ("X-com.example.Vendor", "1"), ("IFMarker", "No"),
                                          ("OFMarkInt", "1~65535"), ("TaskReporting", "RFC3720"),
                                          ("NotAKey", "?"))))
    write(w, "ffp_text",
          b"\0" + record(3, 3, True, keys(("MaxRecvDataSegmentLength", "16384"),
                                          ("InitiatorAlias", "renamed"), ("SendTargets", TARGET))))

# ---------------------------------------------------------------- CDBs


def cdb_record(cdb, expected_in=0, out=b"", lun=0, attr=0, second=False, long_cdb=False):
    flags = lun | (4 if long_cdb else 0) | attr << 3 | (0x20 if second else 0)
    size = 32 if long_cdb else 16
    cdb = cdb + b"\0" * (size - len(cdb))
    return bytes([flags]) + cdb + struct.pack(">I", expected_in)[1:] + struct.pack(">H", len(out)) + out


def cdb16(op, lba, blocks, byte1=0):
    return bytes([op, byte1]) + struct.pack(">QIBB", lba, blocks, 0, 0)


def cdb_seeds():
    w = "cdb_fuzz"
    inquiry = [cdb_record(bytes([0x12, 0, 0, 0, 0xff, 0]), 255)]
    for page in (0x00, 0x80, 0x83, 0x86, 0xb0, 0xb1, 0xb2):
        inquiry.append(cdb_record(bytes([0x12, 1, page, 0x01, 0, 0]), 256))
    inquiry.append(cdb_record(bytes([0x12, 0, 0, 0, 0xff, 0]), 255, lun=2))
    inquiry.append(cdb_record(bytes([0x12, 0, 0, 0, 0xff, 0]), 255, lun=3))
    write(w, "inquiry", b"\0" + b"".join(inquiry))
    write(w, "unit_attention_first", b"\x04" + cdb_record(b"\0" * 6) + cdb_record(b"\x03\0\0\0\xfc\0", 252))
    write(w, "capacity_and_luns",
          b"\0" + cdb_record(bytes([0x25]) + b"\0" * 9, 8)
          + cdb_record(bytes([0x9e, 0x10]) + b"\0" * 11 + bytes([32]), 32)
          + cdb_record(bytes([0xa0, 0, 0, 0, 0, 0, 0, 0, 0x10, 0, 0, 0]), 4096)
          + cdb_record(bytes([0xa0, 0, 0, 0, 0, 0, 0, 0, 0x10, 0, 0, 0]), 4096, lun=2)
          + cdb_record(bytes([0x03, 0, 0, 0, 252, 0]), 252))
    block = bytes(range(256)) * 2
    write(w, "read_write",
          b"\0" + cdb_record(bytes([0x0a, 0, 0, 1, 1, 0]), 0, block)
          + cdb_record(bytes([0x08, 0, 0, 1, 1, 0]), 512)
          + cdb_record(cdb10(0x2a, 2, 2, 0x08), 0, block * 2)
          + cdb_record(cdb10(0x28, 2, 2), 1024)
          + cdb_record(cdb16(0x8a, 2047, 1), 0, block)
          + cdb_record(cdb16(0x88, 2047, 2), 1024)
          + cdb_record(bytes([0xaa, 0]) + struct.pack(">II", 5, 1) + b"\0\0", 0, block)
          + cdb_record(bytes([0xa8, 0]) + struct.pack(">II", 5, 1) + b"\0\0", 512)
          + cdb_record(cdb10(0x2f, 0, 4, 0x02), 0, block * 4)
          + cdb_record(cdb10(0x35, 0, 0)))
    write(w, "write_4k", b"\x01" + cdb_record(cdb10(0x2a, 0, 1), 0, block * 8)
          + cdb_record(cdb10(0x28, 0, 1), 4096))
    write(w, "mode_pages",
          b"\0" + cdb_record(bytes([0x1a, 0, 0x3f, 0, 255, 0]), 255)
          + cdb_record(bytes([0x5a, 0, 0x3f, 0xff, 0, 0, 0, 0x10, 0, 0]), 4096)
          + cdb_record(bytes([0x5a, 0x08, 0x48, 0, 0, 0, 0, 0x10, 0, 0]), 4096)
          + cdb_record(bytes([0x15, 0x10, 0, 0, 24, 0]), 0,
                       bytes([0, 0, 0, 0]) + bytes([0x08, 18, 0x04]) + b"\0" * 17)
          + cdb_record(bytes([0x55, 0x10, 0, 0, 0, 0, 0, 0, 20, 0]), 0,
                       bytes(8) + bytes([0x0a, 10, 0x04]) + b"\0" * 9))
    unmap_list = struct.pack(">HH", 22, 16) + b"\0" * 4 + struct.pack(">QI", 4, 4) + b"\0" * 4
    write(w, "provisioning",
          b"\x02" + cdb_record(bytes([0x42, 0, 0, 0, 0, 0, 0, 0, 24, 0]), 0, unmap_list)
          + cdb_record(cdb16(0x93, 8, 8, 0x08), 0, block)
          + cdb_record(cdb10(0x41, 16, 4), 0, block)
          + cdb_record(bytes([0x9e, 0x12]) + struct.pack(">QI", 0, 64) + b"\0\0", 64)
          + cdb_record(bytes([0x12, 1, 0xb2, 0, 64, 0]), 64))
    write(w, "compare_and_write",
          b"\0" + cdb_record(cdb16(0x8a, 3, 1), 0, block)
          + cdb_record(bytes([0x89, 0]) + struct.pack(">Q", 3) + b"\0\0\0\x01\0\0", 0, block + block[::-1])
          + cdb_record(bytes([0x89, 0]) + struct.pack(">Q", 3) + b"\0\0\0\x01\0\0", 0, block * 2)
          + cdb_record(cdb16(0x8b, 3, 1), 0, block)
          + cdb_record(cdb16(0x8f, 3, 1, 0x02), 0, block)
          + cdb_record(cdb16(0x9c, 3, 1), 0, block))
    write(w, "service_actions",
          b"\0" + cdb_record(bytes([0xa3, 0x0c, 0x80, 0, 0, 0, 0, 0, 0x10, 0, 0, 0]), 4096)
          + cdb_record(bytes([0xa3, 0x0c, 0x01, 0x2a, 0, 0, 0, 0, 0x10, 0, 0, 0]), 4096)
          + cdb_record(bytes([0xa3, 0x0a, 0, 0, 0, 0, 0, 0, 0x10, 0, 0, 0]), 4096)
          + cdb_record(bytes([0xa4, 0x0a, 0, 0, 0, 0, 0, 0, 0, 8, 0, 0]), 0,
                       bytes([0, 0, 0, 0, 0x00, 0, 0, 1]))
          + cdb_record(bytes([0x37, 0x18, 0, 0, 0, 0, 0, 0, 255, 0]), 255)
          + cdb_record(bytes([0x1e, 0, 0, 0, 1, 0]), 0, lun=1)
          + cdb_record(bytes([0x1b, 0, 0, 0, 0x02, 0]), 0, lun=1)
          + cdb_record(bytes([0x1b, 0, 0, 0, 0x01, 0]), 0, lun=1)
          + cdb_record(bytes([0x16, 0, 0, 0, 0, 0]))
          + cdb_record(bytes([0x17, 0, 0, 0, 0, 0]), second=True)
          + cdb_record(bytes([0x7f, 0, 0, 0, 0, 0, 0, 0x18, 0, 0x0d]) + b"\0" * 22, 512, long_cdb=True))

# ---------------------------------------------------------------- PERSISTENT RESERVE OUT


def tid(port):
    name = port.encode() + b"\0"
    name += b"\0" * (-len(name) % 4)
    if len(name) < 20:
        name += b"\0" * (20 - len(name))
    fmt = 0x45 if ",i,0x" in port else 0x05
    return bytes([fmt, 0]) + struct.pack(">H", len(name)) + name


def pr_params(key=0, sa_key=0, flags=0, tids=b""):
    p = struct.pack(">QQ", key, sa_key) + b"\0" * 4 + bytes([flags, 0, 0, 0])
    if flags & 0x08:
        p += struct.pack(">I", len(tids)) + tids
    return p


def move_params(key, sa_key, port, rtpi=2, unreg=False, aptpl=False):
    t = tid(port)
    return (struct.pack(">QQ", key, sa_key) + b"\0" + bytes([(2 if unreg else 0) | (1 if aptpl else 0)])
            + struct.pack(">HI", rtpi, len(t)) + t)


def pr(who, sa, scope_type, param, kind=0):
    return bytes([who | kind << 2, sa, scope_type]) + struct.pack(">H", len(param)) + param


def pr_seeds():
    w = "pr_out_fuzz"
    A = 0xaaaa
    B = 0xbbbb
    write(w, "register_reserve_release",
          b"\0" + pr(0, 0, 0, pr_params(0, A)) + pr(2, 0, 0, pr_params(0, B))
          + pr(0, 1, 0x01, pr_params(A)) + pr(2, 0, 0, b"", kind=2) + pr(2, 1, 0, b"", kind=2)
          + pr(0, 2, 0x01, pr_params(A)) + pr(0, 0, 0, b"", kind=1))
    write(w, "preempt_and_abort",
          b"\0" + pr(0, 0, 0, pr_params(0, A)) + pr(3, 0, 0, pr_params(0, B))
          + pr(3, 1, 0x03, pr_params(B)) + pr(0, 5, 0x06, pr_params(A, B))
          + pr(0, 4, 0x05, pr_params(A, A)) + pr(0, 3, 0, pr_params(A)))
    write(w, "spec_i_pt_all_tg_pt",
          b"\0" + pr(0, 0, 0, pr_params(0, A, 0x0c, tid("iqn.1994-05.com.example:b,i,0x23d000000001")
                                          + tid("iqn.1994-05.com.example:c")))
          + pr(2, 1, 0x08, pr_params(A)) + pr(1, 6, 0, pr_params(0, 0xcccc, 0x04))
          + pr(0, 2, 0x08, pr_params(A)))
    write(w, "register_and_move",
          b"\0" + pr(0, 0, 0, pr_params(0, A)) + pr(0, 1, 0x01, pr_params(A))
          + pr(0, 7, 0x01, move_params(A, 0xdddd, "iqn.1994-05.com.example:c,i,0x23d000000003"))
          + pr(3, 2, 0x01, pr_params(0xdddd)))
    write(w, "aptpl_refused", b"\0" + pr(0, 0, 0, pr_params(0, A, 0x01)))
    write(w, "spc2_reserve", b"\0" + pr(0, 0, 0, b"", kind=3) + pr(1, 0, 0, b"", kind=2)
          + pr(0, 1, 0, b"", kind=3) + pr(1, 0, 0, pr_params(0, B)))
    write(w, "length_mismatch", b"\0" + bytes([0x10, 0, 0]) + struct.pack(">HH", 100, 24) + pr_params(0, A))
    image = ("stgt-pr 1\ngeneration 3\n"
             "reg 000000000000aaaa 1 0 iqn.1994-05.com.example:a,i,0x23d000000001\n"
             "reg 000000000000bbbb 2 1 iqn.1994-05.com.example:c\n"
             "reservation 0 1\n")
    write(w, "aptpl_image", b"\x80" + (image + "crc32c %08x\n" % crc32c(image.encode())).encode())


def crc32c(data):
    crc = 0xffffffff
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82f63b78 if crc & 1 else 0)
    return crc ^ 0xffffffff

# ---------------------------------------------------------------- EXTENDED COPY (SPC-5 6.4)


def cscd(naa, block_length=512, device_type=0):
    # Identification CSCD descriptor (0xE4): an NAA designator of an LU, disk parameters.
    d = bytes([0xE4, device_type, 0, 0, 0x01, 0x03, 0, 8]) + struct.pack(">Q", naa)
    d += b"\0" * 12 + b"\0" + struct.pack(">I", block_length)[1:]
    return d


def segment(src, dst, blocks, src_lba, dst_lba, cat=0):
    # Block device to block device segment descriptor (0x02).
    return (bytes([0x02, cat]) + struct.pack(">HHHHH", 0x18, src, dst, 0, blocks) +
            struct.pack(">QQ", src_lba, dst_lba))


def copy_list(cscds, segments, list_id=1, usage=0, inline=b""):
    c = b"".join(cscds)
    g = b"".join(segments)
    return (bytes([list_id, usage << 3]) + struct.pack(">HIII", len(c), 0, len(g), len(inline))
            + c + g + inline)


def xcopy_seeds():
    a, b = 0x6001405000000001, 0x6001405000000002
    write("xcopy_fuzz", "one_segment", copy_list([cscd(a), cscd(b)], [segment(0, 1, 8, 0, 64)]))
    write("xcopy_fuzz", "same_lu", copy_list([cscd(a)], [segment(0, 0, 16, 0, 128)]))
    write("xcopy_fuzz", "many_segments",
          copy_list([cscd(a), cscd(b, 4096)], [segment(i % 2, 1 - i % 2, 4, i * 8, i * 8 + 4)
                                               for i in range(12)], usage=2))
    write("xcopy_fuzz", "no_list_id", copy_list([cscd(a), cscd(b)], [segment(0, 1, 1, 7, 9)],
                                                 list_id=0, usage=3))
    write("xcopy_fuzz", "bad_index", copy_list([cscd(a)], [segment(0, 3, 1, 0, 0)]))
    write("xcopy_fuzz", "inline_data", copy_list([cscd(a), cscd(b)], [segment(0, 1, 2, 0, 2)],
                                                  inline=b"\xab" * 16))


# ---------------------------------------------------------------- configuration


def config_seeds():
    w = "config_fuzz"
    with open(os.path.join(ROOT, "docs", "configuration.md")) as f:
        text = f.read()
    for i, block in enumerate(re.findall(r"```toml\n(.*?)```", text, re.S)):
        write(w, f"configuration_md_{i}", block.encode())
    write(w, "everything", b"""[daemon]
control_socket = "/run/stgt/stgtd.sock"
reactors = 2
io_backend = "epoll"
log_level = "warn"
memory_budget = "256MiB"

[iscsi]
login_timeout = 15
nop_interval = 10
nop_timeout = 30
queue_depth = 64
max_recv_data_segment_length = 262144
max_burst_length = 1048576
first_burst_length = 262144
max_outstanding_r2t = 4
immediate_data = true
initial_r2t = false
digests = ["CRC32C", "None"]
session_write_buffer = "64MiB"
max_sessions = 100

[[portal]]
address = "[::1]:3260"
group_tag = 2

[[account]]
user = "host1"
secret = "a-long-random-secret"

[[group]]
name = "hosts"
initiators = ["iqn.1994-05.com.redhat:db1"]
addresses = ["10.1.0.0/24", "2001:db8::/32"]

[discovery]
incoming_users = ["host1"]
mutual_chap = false

[[target]]
iqn = "iqn.2026-11.org.example:all"
alias = "all keys"
incoming_users = ["host1"]
[[target.lun]]
id = 0
store = "memory"
size = "64MiB"
block_size = 4096
physical_block_size = 8192
read_only = false
removable = true
provisioning = "thin"
write_cache = false
vendor = "STGT"
product = "FUZZ"
serial = "0123456789"
queue_depth = 32
[[target.lun]]
id = 3
store = "null"
size = "1TiB"
[[target.acl]]
group = "hosts"
[[target.acl.map]]
lun = 1
lu = 3
read_only = true
""")


if __name__ == "__main__":
    pdu_seeds()
    pdu_digest_seeds()
    login_seeds()
    cdb_seeds()
    pr_seeds()
    xcopy_seeds()
    config_seeds()
