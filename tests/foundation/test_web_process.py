"""The web process loads the whole URLconf without the machine-learning stacks.

Gunicorn forks several web workers; PyTorch alone adds hundreds of megabytes and a quarter of a
million objects for the garbage collector to walk in each, and the web never trains or generates.
"""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import os, sys
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "merchandising.settings")
import merchandising.wsgi  # loads every view, as gunicorn does
print(",".join(name for name in ("torch", "transformers", "peft") if name in sys.modules))
"""


def test_web_process_does_not_import_torch_transformers_or_peft():
    done = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1:] in ([""], []), done.stdout
