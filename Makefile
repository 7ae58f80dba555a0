# Every README command goes through these targets; .ci/run calls `make test`.
PYTHON := .venv/bin/python

.PHONY: setup demo test

# Create/update .venv with the pinned stack (idempotent, seconds when done).
setup:
	bash tools/setup_env.sh

# ConMIM pre-training of a tiny ViT on photos bundled with scikit-image (CPU,
# a few minutes): logs, checkpoints and loss_curve.png in work_dirs/demo.
demo: setup
	$(PYTHON) tools/train.py configs/conmim/demo_vit-tiny.py --work-dir work_dirs/demo

# The test suite; pytest exits non-zero when it collects no test.
test: setup
	$(PYTHON) -m pytest tests
