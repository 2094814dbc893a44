"""ExecutionService: the request path after authentication.

size check -> timeout check -> input files checked (input_files.py) -> ProgramChecker (a
process of its own, bounded) -> FIFO admission -> the working directory made, when files
were sent or the program may use files (sandbox/workdirs.py, language/file_use.py) ->
fresh worker -> what it left in the directory -> reply; the directory is removed after,
not awaited.
Everything the program does comes back as data in an ExecuteResponse; only refusals of
the request itself raise (see errors.py).
"""

from __future__ import annotations

import asyncio
import base64
import math
import time
from concurrent.futures import ThreadPoolExecutor

from .data_tier import data_modules
from .errors import CodeRejected, InvalidRequest, PayloadTooLarge, SandboxUnavailable
from .input_files import decode_input_files
from .language.data_use import may_use_data_libraries
from .language.file_use import may_use_files
from .language.validation import SourcePolicy
from .metrics import ExecutorMetrics
from .offload import parse_sized
from .protocol import FILES_LIMIT_EXCEEDED, FileRules, Job
from .sandbox.admission import AdmissionGate
from .sandbox.checking import ProgramChecker
from .sandbox.pool import ExecutionPool, JobTooLarge, PoolUnavailable, RunOutcome
from .sandbox.workdirs import Collected, DecodedFile, FileLimits, WorkDirectories, WorkDirectory, collect
from .schemas import ExecuteRequest, ExecuteResponse, ExecutionError, Figure, OutputFile, Truncated
from .settings import Settings

#: Programs above this size are validated in a thread so a big parse does not stall
#: every other request on the event loop.
MAX_ERROR_CHARS = 4096
#: The worker's own alarm fires this long after the parent's deadline (a backstop).
WALL_GRACE_S = 2


#: Removals run in threads of their own: a tree of a hundred thousand entries (an escaped
#: worker's flood) takes seconds to remove, and in the shared pool it held up the making of
#: other executions' directories (attack pass 93).
_REMOVALS = ThreadPoolExecutor(max_workers=2, thread_name_prefix="workdir-removal")


def remove_later(directory: WorkDirectory) -> None:
    """Remove an execution's directory in a thread, not waiting for it."""
    asyncio.get_running_loop().run_in_executor(_REMOVALS, WorkDirectories.remove, directory)


def _remove_once_made(making: asyncio.Future[WorkDirectory]) -> None:
    if not making.cancelled() and making.exception() is None:
        remove_later(making.result())


class ExecutionService:
    def __init__(
        self,
        settings: Settings,
        pool: ExecutionPool,
        gate: AdmissionGate,
        metrics: ExecutorMetrics,
        workdirs: WorkDirectories | None = None,
        *,
        data_pool: ExecutionPool | None = None,
    ) -> None:
        """``data_pool``: the data tier's (data_tier.py), which programs that name its
        libraries run in; None when the tier is off."""
        self.settings = settings
        self.pool = pool
        self.data_pool = data_pool
        self.gate = gate
        self.metrics = metrics
        self.workdirs = workdirs
        self.file_limits = FileLimits(
            max_files=settings.max_files,
            max_file_bytes=settings.max_file_bytes,
            max_files_bytes=settings.max_files_bytes,
            max_path_depth=settings.max_path_depth,
            max_returned_bytes=settings.max_returned_file_bytes,
        )
        self.file_rules: FileRules = {
            "max_files": settings.max_files,
            "max_file_bytes": settings.max_file_bytes,
            "max_files_bytes": settings.max_files_bytes,
            "max_path_chars": settings.max_path_chars,
            "max_path_depth": settings.max_path_depth,
        }
        self.policy = SourcePolicy(
            max_ast_nodes=settings.max_ast_nodes,
            max_ast_depth=settings.max_ast_depth,
            allowed_imports=settings.allowed_imports
            | (data_modules(settings) if data_pool is not None else frozenset()),
        )
        # As many programs may wait to be checked as to be run; the same deadline.
        self.checker = ProgramChecker(
            self.policy,
            limit=settings.max_concurrent_executions + settings.max_queued_executions,
            timeout_s=settings.queue_timeout_s,
            max_code_bytes=settings.max_code_bytes,
        )

    def missing_layers(self) -> list[str]:
        """Required OS layers the current template does not apply (all of them while no
        template has announced its layers)."""
        announced = self.pool.layers
        active = announced.active if announced is not None else frozenset()
        return sorted(self.settings.required_layers - active)

    def _timeout(self, requested: float | None) -> float:
        if requested is None:
            return self.settings.execution_timeout_s
        if requested > self.settings.max_timeout_s:
            raise InvalidRequest(
                [
                    {
                        "loc": ["body", "timeout_s"],
                        "msg": f"timeout_s may be at most {self.settings.max_timeout_s:g}",
                        "type": "less_than_equal",
                    }
                ]
            )
        return requested

    def job(self, request: ExecuteRequest, timeout_s: float, data: bool = False) -> Job:
        """``data``: the job runs in the data tier's template (more memory; figures)."""
        s = self.settings
        job: Job = {
            "code": request.code,
            "context": request.context,
            "limits": {
                "memory_mb": s.data_max_memory_mb if data else s.max_memory_mb,
                # CPU can never outlast the wall clock by more than a second.
                "cpu_s": max(1, min(s.max_cpu_s, math.ceil(timeout_s) + 1)),
                "max_open_files": s.max_open_files,
                "max_result_bytes": s.max_result_bytes,
                "max_error_chars": MAX_ERROR_CHARS,
                "wall_s": math.ceil(timeout_s) + WALL_GRACE_S,
                "max_code_bytes": s.max_code_bytes,
                "max_ast_nodes": s.max_ast_nodes,
                "max_ast_depth": s.max_ast_depth,
            },
        }
        if data:
            job["figure_rules"] = {"max_figures": s.max_figures, "max_figure_pixels": s.max_figure_pixels}
        return job

    async def run_job(self, job: Job, timeout_s: float, pool: ExecutionPool | None = None) -> RunOutcome:
        """Run an already validated job, bypassing admission (the health self-test), in
        ``pool`` (default: the small template's)."""
        try:
            return await (pool or self.pool).run(job, timeout_s, **self.budgets())
        except PoolUnavailable as exc:
            raise SandboxUnavailable(str(exc)) from exc
        except JobTooLarge as exc:
            raise PayloadTooLarge(str(exc)) from exc

    async def checked_job(
        self, request: ExecuteRequest, client: str = "", data: bool | None = None
    ) -> tuple[Job, float, list[DecodedFile]]:
        """The request checked and made a job: (job, timeout in seconds, input files).
        ``client``: who asked (the checker shares its turns among clients). ``data``:
        whether the job runs in the data tier's template (None: as its source says).
        Raises the refusals of errors.py (PayloadTooLarge, InvalidRequest, CodeRejected,
        SandboxUnavailable, Overloaded)."""
        code_bytes = len(request.code.encode("utf-8", "surrogatepass"))
        if code_bytes > self.settings.max_code_bytes:
            raise PayloadTooLarge(f"code is {code_bytes} bytes; the limit is {self.settings.max_code_bytes}")
        timeout_s = self._timeout(request.timeout_s)
        # 422/413, before any work; megabytes of base64 are decoded off the event loop.
        sent = sum(len(file.content) for file in request.files)
        files = await parse_sized(sent, decode_input_files, request.files, self.settings)
        prepared = await self.checker.prepare(request.code, client)
        if prepared.violations or prepared.bytecode is None:
            raise CodeRejected(prepared.violations)
        self.require_layers()
        if data is None:
            data = self.data_pool is not None and may_use_data_libraries(request.code)
        job = self.job(request, timeout_s, data)
        job["bytecode"] = base64.b64encode(prepared.bytecode).decode("ascii")
        return job, timeout_s, files

    def require_layers(self) -> None:
        """Never run weaker than the operator asked for (EXECUTOR_REQUIRED_LAYERS)."""
        missing = self.missing_layers()
        if missing:
            raise SandboxUnavailable(
                f"required isolation layers are not active on this host: {', '.join(missing)}", retry_after_s=30
            )

    def budgets(self) -> dict[str, int]:
        """The output budgets of every execution (ExecutionPool.run's keywords)."""
        s = self.settings
        return {
            "stdout_budget": s.max_stdout_bytes,
            "stderr_budget": s.max_stderr_bytes,
            "flood_factor": s.output_flood_factor,
        }

    async def execute(self, request: ExecuteRequest, request_id: str, client: str = "") -> ExecuteResponse:
        """The program's answer. ``client``: who asked (the checker shares its turns
        among clients). Raises the refusals of errors.py (PayloadTooLarge, InvalidRequest,
        CodeRejected, SandboxUnavailable, Overloaded, ShuttingDown)."""
        job, timeout_s, files = await self.checked_job(request, client)
        data = "figure_rules" in job
        queued_at = time.perf_counter()
        collected: Collected | None = None
        async with self.gate.slot():
            self.metrics.queue_wait.observe(time.perf_counter() - queued_at)
            wanted = bool(files) or data or may_use_files(request.code)
            directory = await self.working_directory(files) if wanted else None
            try:
                if directory is not None:
                    job["workdir"] = str(directory.path)
                    job["file_rules"] = self.file_rules
                outcome = await self.run_job(job, timeout_s, self.data_pool if data else None)
                if directory is not None:
                    collected = await asyncio.to_thread(collect, directory, self.file_limits)
            finally:
                if directory is not None:
                    # Not awaited: removal (a large tree can take a second) holds neither the
                    # slot nor the answer, and a client that left cannot cancel it.
                    remove_later(directory)
        return self.response(outcome, request_id, collected)

    async def working_directory(self, files: list[DecodedFile]) -> WorkDirectory | None:
        """A directory for one execution, with its input files in it (sandbox/workdirs.py).
        Made in a thread that a client leaving cannot stop: the directory it makes then is
        removed as soon as it exists, never left behind (attack pass 91)."""
        if self.workdirs is None or not self.workdirs.started:
            if not files:
                return None  # the program runs without one, and is told so if it opens a file
            raise SandboxUnavailable("the working directories could not be made on this host", retry_after_s=30)
        making = asyncio.get_running_loop().run_in_executor(None, self.workdirs.create, files)
        try:
            return await asyncio.shield(making)
        except asyncio.CancelledError:
            making.add_done_callback(_remove_once_made)
            raise
        except OSError as exc:
            raise SandboxUnavailable("the input files could not be placed (the host's disk)", retry_after_s=5) from exc

    def response(self, outcome: RunOutcome, request_id: str, collected: Collected | None = None) -> ExecuteResponse:
        reply = outcome.reply
        self.metrics.duration.observe(outcome.duration_s)
        limit = reply["limit"]
        error = reply["error"]
        if limit is None and (outcome.stdout.flooded or outcome.stderr.flooded):
            limit = "output"
        if limit is None and collected is not None and collected.over_limit is not None:
            limit = "files"
            error = {"type": FILES_LIMIT_EXCEEDED, "message": collected.over_limit, "line": None}
        if limit is not None:
            self.metrics.limits_hit.labels(limit).inc()
        files_cut = collected is not None and collected.truncated
        for stream, cut in (
            ("stdout", outcome.stdout.truncated),
            ("stderr", outcome.stderr.truncated),
            ("result", reply["result_truncated"]),
            ("files", files_cut),
        ):
            if cut:
                self.metrics.truncations.labels(stream).inc()
        # Not validated again: every field is built here from values already checked
        # (parse_reply checked the result's types, depth and size), and validating a
        # megabyte of result as JsonValue costs the event loop a tenth of a second.
        return ExecuteResponse.model_construct(
            request_id=request_id,
            success=reply["success"] and limit is None,
            result=reply["result"],
            stdout=outcome.stdout.text(),
            stderr=outcome.stderr.text(),
            truncated=Truncated(
                stdout=outcome.stdout.truncated,
                stderr=outcome.stderr.truncated,
                result=reply["result_truncated"],
            ),
            error=ExecutionError(**error) if error is not None else None,
            limit=limit,
            files=[OutputFile.model_construct(**vars(file)) for file in collected.files] if collected else [],
            figures=[Figure.model_construct(**figure) for figure in reply.get("figures", [])],
            duration_ms=round(outcome.duration_s * 1000, 3),
        )
