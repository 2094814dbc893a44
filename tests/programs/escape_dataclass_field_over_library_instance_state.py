# Tries: a dataclass field named like state a library base keeps in the instance (set by
# its __init__, so in no class namespace): PrettyPrinter's _stream, JSONDecoder's
# parse_string. pprint's dataclass support reads every field with the real getattr and
# handed the value (the worker's stream, json's C scanner) to the program's hook. Must:
# such a field is refused when the class is made, by a class statement or make_dataclass;
# a dataclass over a library base with fields of its own, and one over a plain class,
# still work.
import dataclasses
import json
import pprint


def refusal(build):
    try:
        build()
    except Exception as error:  # noqa: BLE001
        return type(error).__name__
    return None


def printer_stream():
    @dataclasses.dataclass
    class Printer(pprint.PrettyPrinter):
        _stream: object = None


def decoder_scanner():
    @dataclasses.dataclass
    class Decoder(json.JSONDecoder):
        parse_string: object = None


def made_decoder():
    dataclasses.make_dataclass("Made", [("scan_once", object, None)], bases=(json.JSONDecoder,))


@dataclasses.dataclass
class Labelled(json.JSONDecoder):
    label: str = "decoder"


@dataclasses.dataclass
class Point:
    x: int
    y: int = 0


[
    [refusal(printer_stream), refusal(decoder_scanner), refusal(made_decoder)],
    Labelled().label,
    pprint.pformat(Point(1)),
]
