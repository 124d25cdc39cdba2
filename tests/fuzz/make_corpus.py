#!/usr/bin/env python3
"""Rebuilds the fuzz seed corpora in tests/fuzz/corpus/ from files already in the tree.

conf/         the shipped confs (their include made a glob, so it matches nothing in the
              sandbox), plus a few edge cases written here
convert/      the "input" of a handful of golden request cases (Anthropic and OpenAI)
answer/       the "input" of the golden Converse and InvokeModel answer cases, compact and
              indented
eventstream/  the worked frames of the AWS protocol notes (section 3.3), behind an option byte
stream/       golden ConverseStream / InvokeModel stream cases encoded as event-stream frames
slices/       client bodies with media where the three client APIs put it, behind an option
              byte ('~' stands for BD_JSON_SLICE_MIN - 1 base64 letters)

Run from anywhere: python3 tests/fuzz/make_corpus.py
"""
import base64
import json
import os
import struct
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
CORPUS = os.path.join(HERE, "corpus")
CONVERT_GOLDEN = os.path.join(ROOT, "tests/unit/convert/golden")
OPENAI_GOLDEN = os.path.join(ROOT, "tests/unit/openai/golden")


def write(target, name, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def conf_seeds():
    for name in ("bedrockd.conf", "demo.conf", "models.conf"):
        with open(os.path.join(ROOT, "conf", name)) as f:
            text = f.read()
        write("conf", name, text.replace("include models.conf;", "include models*.conf;"))
    write("conf", "quoting.conf",
          'a "two words" \'single \\\' q\' "esc \\" \\\\ \\$ \\n \\t \\r x" ;\n'
          'b ${A} "${SPACE}" ${UNSET:-dflt} "${EMPTY:-e}" ${QUOTE} ${BRACE} ${DOLLAR};\n'
          'c a#b "#x" "" \'\' "{" ";" "}" "${" x"y x\'y;\n'
          "# comment\nblock arg {\n    inner 1; nested { deep on; }\n    other;\n}\n")
    write("conf", "include.conf", "include *.conf;\ninclude none[0-9];\nx { include ?; }\n")
    write("conf", "deep.conf", "a {" * 70 + "}" * 70 + "\n")
    write("conf", "bad_unterminated.conf", 'listen "127.0.0.1:8080;\n')
    write("conf", "bad_brace.conf", "http {\n    listen 80;\n")
    write("conf", "bad_var.conf", "x ${1BAD} ${A:+x} ${UNSET};\n")
    write("conf", "bad_after_quote.conf", 'x "a"b;\n}\n')


def golden_input(path):
    with open(path) as f:
        return json.dumps(json.load(f)["input"], indent=1)


def convert_seeds():
    anthropic = ["req_basic_text", "req_image_document", "req_thinking", "req_tools_auto",
                 "req_tool_choice_tool", "req_system_blocks_cache", "req_cache_points_messages",
                 "req_sampling_stop_metadata", "req_url_sources_filled", "count_tokens_invoke",
                 "err_tool_result_nested_type", "err_thinking_budget_vs_max"]
    for name in anthropic:
        write("convert", "anthropic_" + name + ".json",
              golden_input(os.path.join(CONVERT_GOLDEN, name + ".json")))
    openai = ["req_basic", "req_parts_image_pdf", "req_reasoning_effort", "req_tool_roundtrip",
              "req_tool_choice_named", "req_response_format_json_schema",
              "req_stream_include_usage", "err_tool_call_bad_arguments"]
    for name in openai:
        write("convert", "openai_" + name + ".json",
              golden_input(os.path.join(OPENAI_GOLDEN, name + ".json")))


def answer_seeds():
    names = ["invoke_response", "invoke_response_malformed", "resp_cache_usage",
             "resp_citations", "resp_reasoning", "resp_tool_use", "resp_stop_sequence",
             "resp_text", "resp_malformed"]
    for name in names:
        with open(os.path.join(CONVERT_GOLDEN, name + ".json")) as f:
            value = json.load(f)["input"]
        write("answer", name + ".json", json.dumps(value, indent=1))
        write("answer", name + "_compact.json",
              json.dumps(value, separators=(",", ":"), ensure_ascii=False))


def es_header(name, value):
    v = value.encode()
    return bytes([len(name)]) + name.encode() + b"\x07" + struct.pack(">H", len(v)) + v


def es_frame(headers, payload):
    h = b"".join(es_header(k, v) for k, v in headers)
    total = 16 + len(h) + len(payload)
    prelude = struct.pack(">II", total, len(h))
    prelude += struct.pack(">I", zlib.crc32(prelude))
    msg = prelude + h + payload
    return msg + struct.pack(">I", zlib.crc32(msg))


# docs: /work/shared/reference/aws-protocols.md section 3.3, examples A to F.
ES_EXAMPLES = {
    "a_empty": "000000100000000005c248eb7d98c8ff",
    "b_no_headers": "0000001d00000000fd528c5a7b27666f6f273a27626172277dc3653936",
    "c_delta": "0000009400000057b4ab9aee0b3a6576656e742d74797065070011636f6e74656e74426c6f63"
               "6b44656c74610d3a636f6e74656e742d747970650700106170706c69636174696f6e2f6a736f6e"
               "0d3a6d6573736167652d747970650700056576656e747b22636f6e74656e74426c6f636b496e64"
               "6578223a302c2264656c7461223a7b2274657874223a224869227d7d1f944657",
    "d_exception": "00000090000000618e91a9b70f3a657863657074696f6e2d747970650700137468726f74"
                   "746c696e67457863657074696f6e0d3a636f6e74656e742d747970650700106170706c6963"
                   "6174696f6e2f6a736f6e0d3a6d6573736167652d74797065070009657863657074696f6e7b"
                   "226d657373616765223a22546f6f206d616e79207265717565737473227de67f8005",
    "e_error": "0000005a0000004a8188a08d0d3a6d6573736167652d747970650700056572726f720b3a6572"
               "726f722d636f646507000f496e7465726e616c4661696c7572650e3a6572726f722d6d65737361"
               "6765070004626f6f6dd78e0703",
    "f_all_types": "0000005e0000004e7365c254017400016601016202fe017303fed401690400011170016c"
                   "05fffffffffffffffb0179060002dead017a0700026f6b0274730800000"
                   "18bcfe5687b0175090123456789abcdef0123456789abcdefba9ead8a",
}


def eventstream_seeds():
    frames = {k: bytes.fromhex(v) for k, v in ES_EXAMPLES.items()}
    opts = {"a_empty": 0x00, "b_no_headers": 0x13, "c_delta": 0x05, "d_exception": 0x21,
            "e_error": 0x4f, "f_all_types": 0x80}
    for name, frame in frames.items():
        write("eventstream", name + ".bin", bytes([opts[name]]) + frame)
    everything = b"".join(frames[k] for k in sorted(frames))
    write("eventstream", "g_all_frames.bin", b"\x12" + everything)
    write("eventstream", "h_truncated.bin", b"\x03" + everything[:-7])
    bad = bytearray(frames["c_delta"])
    bad[-1] ^= 1
    write("eventstream", "i_bad_crc.bin", b"\x00" + bytes(bad))
    short = bytes.fromhex("0000000f00000000") + b"\0" * 8  # total 15 < 16
    write("eventstream", "j_bad_length.bin", b"\x80" + short)


def stream_frames(events):
    out = b""
    for ev in events:
        if ev[0] == "end":
            break
        if ev[0] == "exception":
            out += es_frame([(":exception-type", ev[1]), (":content-type", "application/json"),
                             (":message-type", "exception")], json.dumps(ev[2]).encode())
            continue
        name, payload = ev[0], (ev[1] if len(ev) > 1 else {})
        if name == "chunk_json":
            name = "chunk"
            payload = {"bytes": base64.b64encode(json.dumps(payload).encode()).decode()}
        out += es_frame([(":event-type", name), (":content-type", "application/json"),
                         (":message-type", "event")], json.dumps(payload).encode())
    return out


def stream_seeds():
    cases = [(CONVERT_GOLDEN, "stream_text"), (CONVERT_GOLDEN, "stream_tool_use"),
             (CONVERT_GOLDEN, "stream_reasoning_signature"), (CONVERT_GOLDEN, "stream_error_mid"),
             (CONVERT_GOLDEN, "invoke_stream_basic"), (CONVERT_GOLDEN, "invoke_stream_exception"),
             (OPENAI_GOLDEN, "stream_tool_calls"), (OPENAI_GOLDEN, "stream_content_filtered")]
    for d, name in cases:
        with open(os.path.join(d, name + ".json")) as f:
            events = json.load(f)["events"]
        write("stream", name + ".bin", stream_frames(events))
    # An upstream event type with a line break must not reach the SSE "event:" line.
    forged = {"type": "message_start\nevent: forged", "message": {}}
    write("stream", "invoke_type_newline.bin", stream_frames([["chunk_json", forged]]))


def slices_seeds():
    media, data_url, stretch = 1, 2, 4
    anthropic = {"model": "m", "max_tokens": 8, "messages": [{"role": "user", "content": [
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "~QUJD"}},
        {"type": "document", "source": {"type": "base64", "media_type": "application/pdf",
                                        "data": "~"}},
        {"type": "text", "text": "~AAAA"}]}]}
    write("slices", "anthropic_media.json", bytes([media | stretch]) + json.dumps(anthropic).encode())
    converse = {"messages": [{"role": "user", "content": [
        {"image": {"format": "png", "source": {"bytes": "~AA=="}}}]}]}
    write("slices", "bedrock_bytes.json", bytes([media | stretch]) + json.dumps(converse, indent=1).encode())
    openai = {"model": "m", "messages": [{"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,~QQ"}},
        {"type": "file", "file": {"filename": "a.pdf", "file_data": "data:application/pdf;base64,~Q"}},
        {"type": "image_url", "image_url": {"url": "data:image/png,~QQ"}},
        {"type": "image_url", "image_url": "data:text/plain;charset=utf-8;base64,~-_"}]}]}
    write("slices", "openai_data_urls.json", bytes([data_url | stretch]) + json.dumps(openai).encode())
    write("slices", "both_kinds.json", bytes([media | data_url | stretch]) +
          json.dumps([anthropic, openai]).encode())
    write("slices", "escapes.json", bytes([media | data_url | stretch]) +
          b'{"data":"~\\u0041","url":"data:a\\/b;base64,~A","bytes" :\n "~A", "x":"~A"}')
    write("slices", "plain_4096.json", bytes([media]) + b'{"data":"' + b"A" * 4096 + b'"}')


if __name__ == "__main__":
    conf_seeds()
    convert_seeds()
    answer_seeds()
    eventstream_seeds()
    stream_seeds()
    slices_seeds()
