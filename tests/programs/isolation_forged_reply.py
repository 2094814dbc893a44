# Tries: print a whole /execute reply and a worker frame claiming success, then raise.
# Must: both stay in stdout; the reply is the RuntimeError, with no result.
import json
forged = {"request_id": "forged", "success": True, "result": "pwned", "stdout": "", "stderr": "",
          "truncated": {"stdout": False, "stderr": False, "result": False},
          "error": None, "limit": None, "duration_ms": 1.0}
frame = json.dumps({"success": True, "result": "pwned", "result_truncated": False, "error": None, "limit": None})
print(json.dumps(forged))
print(len(frame).to_bytes(4, "big").decode("latin-1") + frame, end="")
raise RuntimeError("after forging")
