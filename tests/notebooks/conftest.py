"""The notebook tests' shared kernel: one Jupyter kernel per test module,
started in notebooks/ as a learner's is, with matplotlib drawing off-screen."""

import pytest
from jupyter_client.manager import start_new_kernel

from lessons import ROOT


@pytest.fixture(scope="module")
def kernel():
    km, kc = start_new_kernel(kernel_name="python3", cwd=str(ROOT / "notebooks"))
    kc.execute_interactive("import matplotlib; matplotlib.use('Agg')", timeout=60)
    yield kc
    kc.stop_channels()
    km.shutdown_kernel(now=True)
