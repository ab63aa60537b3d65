"""The first-run model download against a stand-in for the Hugging Face hub on 127.0.0.1
(``tests/hf_server.py``): progress, resuming after a kill, a bad connection, a bad server, a
file that doesn't match its checksum, a full disk, and nothing sent but the file request."""

from __future__ import annotations

import errno
import hashlib
import os
import pty
import re
import select
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from photoclip import download as dl
from photoclip.embedder import ModelNotHereError, load_embedder
from photoclip.errors import ModelUnavailableError
from photoclip.models import DEFAULT_MODEL, get_spec, tiny_shapes_dir
from photoclip.throughput import Throughput, describe
from tests.hf_server import COMMIT, FakeHub

WEIGHTS = "open_clip_model.safetensors"
SMALL_REPO = "org/small-model"
# Short waits and timeouts so that each failure mode takes well under a second or two.
FAST = {"retry_delays_s": (0.05, 0.05, 0.05), "timeout_s": 0.5}


@pytest.fixture
def small_file() -> Path:
    """An 11.8 MB file to serve: the tiny model's weights."""
    return Path(tiny_shapes_dir()) / WEIGHTS


@pytest.fixture
def hub(small_file):
    with FakeHub() as hub:
        hub.serve(SMALL_REPO, WEIGHTS, small_file)
        yield hub


def fetch(hub: FakeHub, cache: Path, **kw) -> str:
    return dl.download(SMALL_REPO, WEIGHTS, cache, server=hub.url, **{**FAST, **kw})


def assert_cached_exactly(path: str, cache: Path, source: Path) -> None:
    """The file is in the standard cache layout, whole, and nothing partial is left."""
    digest = hashlib.sha256(source.read_bytes()).hexdigest()
    root = dl.repo_folder(cache, SMALL_REPO)
    assert Path(path) == root / "snapshots" / COMMIT / WEIGHTS
    assert Path(os.path.realpath(path)) == root / "blobs" / digest
    assert Path(path).read_bytes() == source.read_bytes()
    assert (root / "refs" / "main").read_text() == COMMIT
    assert dl.partial_files(cache, SMALL_REPO) == []


def test_a_plain_download_lands_in_the_hub_cache_layout(hub, small_file, tmp_path):
    seen: list[tuple[int, int]] = []
    path = fetch(hub, tmp_path, progress=lambda d, t: seen.append((d, t)))
    assert_cached_exactly(path, tmp_path, small_file)
    size = small_file.stat().st_size
    assert seen[-1] == (size, size)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)
    assert [(r.method, r.status) for r in hub.log] == [("HEAD", 200), ("GET", 200)]
    # The huggingface_hub library finds it where photoclip put it.
    from huggingface_hub import try_to_load_from_cache

    assert try_to_load_from_cache(SMALL_REPO, WEIGHTS, cache_dir=tmp_path) == path
    # ...and photoclip finds it as the library does, without importing the library.
    for repo, name in ((SMALL_REPO, WEIGHTS), (SMALL_REPO, "other.bin"), ("a/b", WEIGHTS)):
        theirs = try_to_load_from_cache(repo, name, cache_dir=tmp_path)
        assert dl.cached_file(tmp_path, repo, name) == (theirs if isinstance(theirs, str) else None)
    assert dl.cached_file(tmp_path, SMALL_REPO, WEIGHTS) == path
    assert fetch(hub, tmp_path) == path  # a second call only asks what the file is
    assert [r.method for r in hub.log] == ["HEAD", "GET", "HEAD"]


def test_a_dropped_connection_resumes_with_a_range_request(hub, small_file, tmp_path):
    hub.faults.drop_after, hub.faults.drops = 3 << 20, 2
    path = fetch(hub, tmp_path)
    assert_cached_exactly(path, tmp_path, small_file)
    gets = hub.gets()
    assert [g.headers.get("range") for g in gets] == [
        None,
        f"bytes={3 << 20}-",
        f"bytes={6 << 20}-",
    ]
    assert [g.status for g in gets] == [200, 206, 206]
    assert sum(g.sent for g in gets) == small_file.stat().st_size  # no byte sent twice

    hub.faults.drop_after, hub.faults.drops = 0, 1000  # a connection that never holds
    with pytest.raises(dl.DownloadError) as err:
        fetch(hub, tmp_path / "other")
    assert str(err.value) == (
        f"The download from 127.0.0.1:{hub.server.server_port} failed: the connection was lost "
        "(photoclip tried 4 times). Check the internet connection and try again: what arrived "
        "is kept, and the download continues from there."
    )


def test_the_hubs_redirect_to_where_the_bytes_are_is_followed(hub, small_file, tmp_path):
    """As on huggingface.co: the file's HEAD answers 302 with X-Linked-Etag/-Size (its ETag is
    the small pointer file's), the GET is redirected, and a resumed GET keeps its Range."""
    hub.faults.redirect = True
    hub.faults.drop_after, hub.faults.drops = 1 << 20, 1
    path = fetch(hub, tmp_path)
    assert_cached_exactly(path, tmp_path, small_file)
    digest = hashlib.sha256(small_file.read_bytes()).hexdigest()
    assert [(r.method, r.path.split("/")[1], r.status) for r in hub.log] == [
        ("HEAD", "org", 302),
        ("GET", "org", 302), ("GET", "cdn", 200),
        ("GET", "org", 302), ("GET", "cdn", 206),
    ]  # fmt: skip
    assert hub.log[-1].path == f"/cdn/{digest}"
    assert hub.log[-1].headers.get("range") == f"bytes={1 << 20}-"


def test_a_server_that_ignores_range_still_gives_the_right_file(hub, small_file, tmp_path):
    hub.faults.ignore_range = True
    hub.faults.drop_after, hub.faults.drops = 2 << 20, 1
    path = fetch(hub, tmp_path)
    assert_cached_exactly(path, tmp_path, small_file)
    assert [(g.headers.get("range"), g.status) for g in hub.gets()] == [
        (None, 200), (f"bytes={2 << 20}-", 200),
    ]  # fmt: skip


def test_what_a_killed_huggingface_hub_download_left_is_continued(hub, small_file, tmp_path):
    """huggingface_hub names its unfinished files ``<sha256>.<random>.incomplete`` and never
    goes back to them; photoclip continues from the longest and leaves none behind."""
    data = small_file.read_bytes()
    blobs = dl.repo_folder(tmp_path, SMALL_REPO) / "blobs"
    blobs.mkdir(parents=True)
    digest = hashlib.sha256(data).hexdigest()
    (blobs / f"{digest}.1a2b3c4d.incomplete").write_bytes(data[: 1 << 20])
    (blobs / f"{digest}.5e6f7a8b.incomplete").write_bytes(data[: 3 << 20])
    path = fetch(hub, tmp_path)
    assert_cached_exactly(path, tmp_path, small_file)
    (get,) = hub.gets()
    assert (get.headers.get("range"), get.sent) == (f"bytes={3 << 20}-", len(data) - (3 << 20))


def test_a_stalled_connection_is_given_up_and_resumed(hub, small_file, tmp_path):
    hub.faults.stall_after, hub.faults.stall_s, hub.faults.stalls = 2 << 20, 5.0, 1
    started = time.monotonic()
    path = fetch(hub, tmp_path)
    assert time.monotonic() - started < 4  # the 0.5 s read timeout, not the 5 s stall
    assert_cached_exactly(path, tmp_path, small_file)
    assert [g.headers.get("range") for g in hub.gets()] == [None, f"bytes={2 << 20}-"]


def test_server_errors_are_retried_then_explained(hub, small_file, tmp_path):
    hub.faults.error_500, hub.faults.get_500 = 1, 1
    path = fetch(hub, tmp_path)
    assert_cached_exactly(path, tmp_path, small_file)
    assert [(r.method, r.status) for r in hub.log] == [
        ("HEAD", 500), ("HEAD", 200), ("GET", 500), ("GET", 200),
    ]  # fmt: skip

    hub.faults.error_500 = 1000
    with pytest.raises(dl.DownloadError) as err:
        fetch(hub, tmp_path / "other")
    assert str(err.value) == (
        f"The download from 127.0.0.1:{hub.server.server_port} failed: the server had a "
        "problem (HTTP 500) (photoclip tried 3 times). Try again later: what arrived is kept, "
        "and the download continues from there."
    )
    assert len(hub.log) == 4 + 3  # bounded: a HEAD and two retries


def test_a_file_that_doesnt_match_its_checksum_is_never_kept(hub, small_file, tmp_path):
    hub.faults.corrupt = 1  # once: a second download from the start gets it right
    path = fetch(hub, tmp_path)
    assert_cached_exactly(path, tmp_path, small_file)
    assert [g.headers.get("range") for g in hub.gets()] == [None, None]

    hub.faults.corrupt = 2
    cache = tmp_path / "other"
    with pytest.raises(dl.DownloadError, match="doesn't match its published checksum"):
        fetch(hub, cache)
    root = dl.repo_folder(cache, SMALL_REPO)
    assert list((root / "blobs").iterdir()) == []
    assert not (root / "snapshots").exists()


def test_corrupt_weights_are_never_loaded(hub, small_file, tmp_path, monkeypatch):
    """Through the real loader: a model whose download doesn't match its checksum fails with
    a sentence, and nothing lands in the cache for a later run to load."""
    repo = get_spec("ViT-B-32").hf_repo
    hub.serve(repo, WEIGHTS, small_file)
    hub.faults.corrupt = 2
    monkeypatch.delenv("HF_HUB_OFFLINE")
    monkeypatch.setenv("HF_ENDPOINT", hub.url)
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
    monkeypatch.setattr(dl, "RETRY_DELAYS_S", (0.05,))
    with pytest.raises(ModelUnavailableError) as err:
        load_embedder("ViT-B-32", device="cpu", precision="fp32")
    assert "doesn't match its published checksum" in str(err.value)
    assert isinstance(err.value, ModelNotHereError) and err.value.kind == "failed"
    assert [p for p in tmp_path.rglob("*") if p.is_file() and ".lock" not in p.name] == []


def test_cancel_keeps_what_arrived_and_the_next_run_continues(hub, small_file, tmp_path):
    hub.faults.bytes_per_s = 8e6
    stop = threading.Event()

    def progress(done: int, total: int) -> None:
        if done >= 4 << 20:
            stop.set()

    with pytest.raises(dl.DownloadCancelled):
        fetch(hub, tmp_path, progress=progress, stop=stop)
    (partial,) = dl.partial_files(tmp_path, SMALL_REPO)
    kept = partial.stat().st_size
    assert kept >= 4 << 20
    hub.faults.bytes_per_s = None
    path = fetch(hub, tmp_path)
    assert_cached_exactly(path, tmp_path, small_file)
    assert hub.gets()[-1].headers.get("range") == f"bytes={kept}-"


def test_an_unreachable_server_is_offline_quickly(tmp_path):
    with FakeHub() as closed:
        url = closed.url  # nothing listens there once it has closed
    started = time.monotonic()
    with pytest.raises(dl.Offline) as err:
        dl.download(SMALL_REPO, WEIGHTS, tmp_path, server=url, **FAST)
    host = url.removeprefix("http://")
    assert str(err.value) == (
        f"{host} can't be reached: the server refused the connection (photoclip tried 3 times)."
    )
    assert time.monotonic() - started < 2


def _mount_tmpfs(where: Path, size: str) -> None:
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs to fill needs root")
    where.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        pytest.skip(f"can't mount a tmpfs here: {done.stderr.strip()}")


@pytest.fixture
def small_disk(tmp_path):
    where = tmp_path / "disk"
    _mount_tmpfs(where, "40m")
    yield where
    subprocess.run(["umount", "-l", str(where)], check=False)


def test_a_disk_too_small_is_said_before_downloading(hub, small_disk, monkeypatch):
    monkeypatch.setattr(dl, "SPARE_BYTES", 30 << 20)  # 11.8 MB file + 30 MB > 40 MB
    with pytest.raises(dl.DownloadError) as err:
        fetch(hub, small_disk / "cache")
    assert str(err.value).startswith(
        f"There isn't enough free space in {small_disk / 'cache'} for the model file (12 MB)."
    )
    assert [r.method for r in hub.log] == ["HEAD"]
    assert [p for p in small_disk.rglob("*") if p.is_file() and ".lock" not in p.name] == []


def test_a_disk_that_fills_up_mid_download_leaves_nothing_half_written(hub, small_disk):
    filler = small_disk / "someone-elses-file"

    def fill_the_disk(done: int, total: int) -> None:
        if done and not filler.exists():  # the disk fills while the model downloads
            with open(filler, "wb") as f:
                try:
                    while True:
                        f.write(b"\0" * (1 << 20))
                except OSError as exc:
                    assert exc.errno == errno.ENOSPC

    hub.faults.bytes_per_s = 50e6
    with pytest.raises(dl.DownloadError, match="There isn't enough free space"):
        fetch(hub, small_disk / "cache", progress=fill_the_disk)
    cache_files = [p for p in (small_disk / "cache").rglob("*") if p.is_file()]
    assert [p for p in cache_files if ".lock" not in p.name] == []


def test_throughput_and_time_left_in_words():
    now = [0.0]
    meter = Throughput(clock=lambda: now[0])
    meter.update(0)
    assert describe(0, 605_000_000, meter) == "0.0 of 605 MB"
    now[0] = 2.0
    meter.update(20_000_000)
    assert describe(20_000_000, 605_000_000, meter) == (
        "20 of 605 MB · 10.0 MB/s · about 58 s left"
    )
    now[0] = 10.0
    meter.update(100_000_000)  # the window keeps the last few seconds
    assert meter.rate == pytest.approx(10e6)
    assert describe(605_000_000, 605_000_000, meter) == "605 of 605 MB · 10.0 MB/s"


# -- the real CLI, end to end ------------------------------------------------------------------


class Terminal:
    """``photoclip`` running on a pseudo-terminal, as in a user's shell (so its progress bar
    redraws in place); everything it writes is collected."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        master, slave = pty.openpty()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "photoclip", *args],
            stdin=subprocess.DEVNULL, stdout=slave, stderr=slave, env=env, close_fds=True,
        )  # fmt: skip
        os.close(slave)
        self.master = master
        self.output = b""
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        while True:
            ready, _, _ = select.select([self.master], [], [], 0.1)
            if not ready:
                if self.proc.poll() is not None:
                    break
                continue
            try:
                data = os.read(self.master, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not data:
                break
            self.output += data

    def wait(self, timeout_s: float = 120) -> int:
        code = self.proc.wait(timeout_s)
        self.reader.join(10)
        os.close(self.master)
        return code

    @property
    def text(self) -> str:
        return self.output.decode(errors="replace")

    def screens(self) -> list[str]:
        """Each state of the terminal's lines, redraws included."""
        return [s.strip() for s in re.split(r"\r\x1b\[K|\r?\n", self.text) if s.strip()]


def test_first_run_download_survives_kill_9_resumes_and_indexes(twin_cache, tmp_path):
    """The real ``photoclip index`` with an empty model cache: it downloads the default
    model with progress; killed with SIGKILL at 64 MiB, the next run asks for the rest only
    (a Range request), checks it, leaves nothing partial, loads it and indexes. The server
    sees nothing but the model file's requests, with photoclip's own user agent."""
    from tests.e2e.helpers import cli_env
    from tools.random_twin import make_twin
    from tools.shapes import write_library

    blob = Path(os.path.realpath(make_twin(DEFAULT_MODEL, twin_cache)))
    photos = tmp_path / "photos"
    write_library(photos, 3, seed=3, min_side=200, max_side=300)
    cache = tmp_path / "hf-cache"
    repo = get_spec(DEFAULT_MODEL).hf_repo
    with FakeHub() as hub:
        served = hub.serve(repo, WEIGHTS, blob)
        env = cli_env(tmp_path / "library")
        env.pop("HF_HUB_OFFLINE")
        env.update(HF_ENDPOINT=hub.url, HF_HUB_CACHE=str(cache))

        cut = 64 << 20
        hub.faults.pause_after = cut
        first = Terminal(["index", str(photos)], env)
        partial = dl.repo_folder(cache, repo) / "blobs" / f"{served.sha256}.incomplete"
        hub.wait_for(lambda: partial.exists() and partial.stat().st_size == cut, 60)
        os.kill(first.proc.pid, signal.SIGKILL)
        assert first.wait() == -signal.SIGKILL
        assert "Downloading the ViT-B-32-256 model (605 MB, once): " in first.text
        assert partial.stat().st_size == cut

        hub.faults.pause_after = None
        hub.faults.bytes_per_s = 200e6  # a few seconds: time to show speed and time left
        second = Terminal(["index", str(photos)], env)
        assert second.wait() == 0, second.text
        log = hub.log

    assert "3 indexed" in second.text
    progress = [s for s in second.screens() if s.startswith("Downloading the ViT-B-32-256")]
    assert progress, second.text
    assert re.search(r"of 6\d\d MB · \d+\.\d MB/s · about \d+ s left$", "\n".join(progress), re.M)
    assert progress[-1].startswith(
        f"Downloading the ViT-B-32-256 model (605 MB, once): {served.size / 1e6:,.0f} of "
    )

    gets = [r for r in log if r.method == "GET"]
    assert [g.headers.get("range") for g in gets] == [None, f"bytes={cut}-"]
    assert gets[1].status == 206 and gets[1].sent == served.size - cut
    root = dl.repo_folder(cache, repo)
    assert sorted(p.name for p in (root / "blobs").iterdir()) == [served.sha256]
    assert (root / "snapshots" / COMMIT / WEIGHTS).resolve() == root / "blobs" / served.sha256
    # Only the model file was asked for, and nothing about this computer was sent with it.
    assert {(r.method, r.path) for r in log} == {
        (m, f"/{repo}/resolve/main/{WEIGHTS}") for m in ("HEAD", "GET")
    }
    for r in log:
        assert r.headers["user-agent"] == dl.USER_AGENT
        assert not {"authorization", "cookie"} & set(r.headers)


def test_huggingface_hub_telemetry_is_off(tmp_path):
    """Anything that uses huggingface_hub inside photoclip (open_clip does) sends no torch
    version and no "agent" field, and never fetches /api/agent-harnesses."""
    script = (
        "import photoclip.embedder\n"
        "from huggingface_hub import constants\n"
        "from huggingface_hub.utils import build_hf_headers\n"
        "assert constants.HF_HUB_DISABLE_TELEMETRY\n"
        "print(build_hf_headers()['user-agent'])\n"
    )
    with FakeHub() as hub:
        env = dict(os.environ, HF_ENDPOINT=hub.url, HF_HOME=str(tmp_path))
        env.pop("HF_HUB_OFFLINE")
        env.pop("HF_HUB_DISABLE_TELEMETRY", None)
        done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                              text=True, timeout=60)  # fmt: skip
        log = hub.log
    assert done.returncode == 0, done.stderr
    agent = done.stdout.strip()
    assert agent.startswith("unknown/None; hf_hub/")
    assert "torch/" not in agent and "agent/" not in agent
    assert log == []


_ONNXRUNTIME_AT_WORK = """
import photoclip.image_tower
import numpy, onnx, onnxruntime
from onnx import TensorProto, helper
x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])
y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])
graph = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "g", [x], [y])
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
model.ir_version = 9
session = onnxruntime.InferenceSession(model.SerializeToString(),
                                       providers=["CPUExecutionProvider"])
print(session.run(None, {"x": numpy.ones(1, numpy.float32)})[0])
"""


def test_onnxruntime_telemetry_is_off(tmp_path):
    """onnxruntime, which indexes photos without torch (photoclip.image_tower), leaves no
    device identifier or queue of usage events behind: set up for telemetry, it makes both
    as soon as it is imported (its opt-out is read then)."""
    home = tmp_path / "home"
    # onnxruntime also stays quiet where it sees a CI service (this suite runs under CI=true):
    # as on a user's computer here, or both checks would pass whatever photoclip did.
    quiet = {"ORT_DISABLE_TELEMETRY", "ORT_RUNNING_UNIT_TESTS", "CI", "TF_BUILD",
             "GITHUB_ACTIONS", "GITLAB_CI", "JENKINS_URL", "CIRCLECI", "APPVEYOR", "BUILDKITE",
             "CODEBUILD_BUILD_ID", "TRAVIS", "TEAMCITY_VERSION"}  # fmt: skip
    env = {k: v for k, v in os.environ.items() if k not in quiet and not k.startswith("AZURE")}
    env.update(HOME=str(home), XDG_CACHE_HOME=str(home / ".cache"))
    done = subprocess.run([sys.executable, "-c", _ONNXRUNTIME_AT_WORK], env=env,
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[1.]"
    assert not [p for p in home.rglob("*") if "Microsoft" in p.parts or p.name == "deviceid"]
    # ...which onnxruntime does, imported on its own: the check above can fail.
    bare = subprocess.run([sys.executable, "-c", "import onnxruntime"], env=env,
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert bare.returncode == 0, bare.stderr
    assert list(home.rglob("deviceid"))
