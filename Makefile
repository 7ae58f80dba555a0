# Every README command goes through these targets; .ci/run calls `make test`.
PYTHON := .venv/bin/python

.PHONY: setup demo test

# Create/update .venv with the pinned stack (idempotent, seconds when done).
setup:
	bash tools/setup_env.sh

# ConMIM pre-training of a tiny ViT on photos bundled with scikit-image (CPU,
# a few minutes), then [CLS] attention maps of three of them: logs,
# checkpoints, loss_curve.png, knn_curve.png and attention/ in work_dirs/demo.
DEMO_PHOTOS := chelsea.png astronaut.png coffee.png
demo: setup
	$(PYTHON) tools/train.py configs/conmim/demo_vit-tiny.py --work-dir work_dirs/demo
	photos=$$($(PYTHON) -c "import os, skimage; print(os.path.dirname(skimage.__file__))")/data; \
	$(PYTHON) tools/analysis_tools/visualize_attention.py configs/conmim/demo_vit-tiny.py \
		work_dirs/demo/iter_300.pth $(addprefix $$photos/,$(DEMO_PHOTOS)) \
		--out work_dirs/demo/attention

# The test suite; pytest exits non-zero when it collects no test.
test: setup
	$(PYTHON) -m pytest tests
