"""Self-test of the Python reference (scripts/reference/).

    cd /work/main && /usr/bin/python3 -m unittest scripts/reference/test_reference.py
    /usr/bin/python3 scripts/reference/test_reference.py

Shapes are tiny so the whole file runs in well under two minutes on two slow CPU cores.
"""

from __future__ import annotations

import copy
import json
import math
import os
import struct
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import torch  # noqa: E402

import config as config_lib  # noqa: E402
import init_state  # noqa: E402
import make_batches  # noqa: E402
import moco_step  # noqa: E402
import replay  # noqa: E402
import safetensors_io  # noqa: E402
import schedules  # noqa: E402
import state as state_lib  # noqa: E402
from model import MoCo, Projection  # noqa: E402

# The kaku2021 preset (docs/method.md, "Presets"), shrunk: ResNet-18, D = 16, K = 10, projectors 32 wide.
BASE_CONFIG = {
    "arch": "resnet18", "stem": "small", "inChannels": 3, "zeroInitResidual": True,
    "embeddingDim": 16, "head": "fc", "queueSize": 10, "temperature": 0.07,
    "keyMomentum": 0.999, "keyMomentumSchedule": "constant", "shuffleGroups": 1,
    "intermediate": {
        "loss": "mse",
        "mse": {"poolSizes": [16, 16, 4, 4], "weights": [0.25, 0.25, 0.25, 0.25]},
        "barlow": {"projectorDims": [32, 32, 32], "lambda": 5e-5, "scale": 0.03125,
                   "weighting": "kaku2021"},
    },
    "optimizer": {"lr": 0.03, "momentum": 0.9, "weightDecay": 0.0001, "nesterov": False,
                  "schedule": "constant", "warmupSteps": 0, "milestones": [], "gamma": 0.1,
                  "gradClip": 0},
    "totalSteps": 1000, "batchSize": 4, "imageSize": 32, "device": "cpu", "precision": "fp32",
    "channelsLast": False, "cudnnBenchmark": False, "seed": 0,
}


def make_config(**changes):
    """BASE_CONFIG with dotted-path overrides: make_config(**{"optimizer.lr": 0.1})."""
    cfg = copy.deepcopy(BASE_CONFIG)
    for path, value in changes.items():
        node = cfg
        *parents, leaf = path.split(".")
        for part in parents:
            node = node[part]
        node[leaf] = value
    return config_lib.validate(cfg)


# ---------------------------------------------------------------------------------------------
# safetensors
# ---------------------------------------------------------------------------------------------


class SafetensorsTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self.tmp.cleanup)

    def path(self, name):
        return os.path.join(self.tmp.name, name)

    def test_round_trip_every_dtype_scalar_empty_and_metadata(self):
        tensors = {
            "f32": torch.tensor([[1.5, -2.25, 3.0], [0.0, float("inf"), -0.0]]),
            "f64": torch.tensor([1e-300, -2.5], dtype=torch.float64),
            "f16": torch.tensor([0.5, -65504.0, 1.0], dtype=torch.float16),
            "bf16": torch.tensor([1.0, -3.0, 2.0 ** 100], dtype=torch.bfloat16),
            "i64": torch.tensor([-(2 ** 62), 7], dtype=torch.int64),
            "i32": torch.tensor([[-5], [2 ** 30]], dtype=torch.int32),
            "u8": torch.arange(256, dtype=torch.uint8),
            "bool": torch.tensor([True, False, True]),
            "scalar_i64": torch.tensor(42, dtype=torch.int64),
            "scalar_f32": torch.tensor(-0.125),
            "empty": torch.zeros(0, 3),
            "empty_i64": torch.zeros(2, 0, dtype=torch.int64),
            "noncontiguous": torch.arange(12, dtype=torch.float32).view(3, 4).t(),
        }
        metadata = {"format": "test", "config": json.dumps({"a": [1, 2]}), "ünïcode": "ß✓"}
        safetensors_io.save(self.path("all.safetensors"), tensors, metadata)
        loaded, loaded_metadata = safetensors_io.load(self.path("all.safetensors"))
        self.assertEqual(loaded_metadata, metadata)
        self.assertEqual(sorted(loaded), sorted(tensors))
        for name, tensor in tensors.items():
            with self.subTest(name=name):
                self.assertEqual(loaded[name].dtype, tensor.dtype)
                self.assertEqual(tuple(loaded[name].shape), tuple(tensor.shape))
                self.assertTrue(torch.equal(loaded[name], tensor))
        self.assertEqual(loaded["scalar_i64"].dim(), 0)
        self.assertEqual(os.listdir(self.tmp.name), ["all.safetensors"])  # no temp file left

    def test_no_metadata_and_no_tensors(self):
        safetensors_io.save(self.path("empty.safetensors"), {})
        self.assertEqual(safetensors_io.load(self.path("empty.safetensors")), ({}, {}))

    def test_exact_bytes_and_padding(self):
        # What safetensors.torch.save_file writes for one F32 tensor: compact JSON, padded with
        # spaces to a multiple of 8, then the little-endian data.
        blob = safetensors_io.serialize({"a": torch.tensor([1.0, 2.0])})
        header = b'{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}'
        header += b" " * ((8 - len(header) % 8) % 8)
        expected = struct.pack("<Q", len(header)) + header + struct.pack("<2f", 1.0, 2.0)
        self.assertEqual(blob, expected)

        # Metadata first, tensors in name order with contiguous offsets, header length % 8 == 0.
        blob = safetensors_io.serialize(
            {"b": torch.zeros(3, dtype=torch.uint8), "a": torch.tensor(7, dtype=torch.int64)},
            {"k": "v"})
        n = struct.unpack("<Q", blob[:8])[0]
        self.assertEqual(n % 8, 0)
        text = blob[8:8 + n].decode()
        self.assertEqual(text.rstrip(" "), '{"__metadata__":{"k":"v"},'
                         '"a":{"dtype":"I64","shape":[],"data_offsets":[0,8]},'
                         '"b":{"dtype":"U8","shape":[3],"data_offsets":[8,11]}}')
        self.assertEqual(text[len(text.rstrip(" ")):], " " * (n - len(text.rstrip(" "))))
        self.assertEqual(len(blob), 8 + n + 11)

    def _write_bytes(self, name, blob):
        with open(self.path(name), "wb") as f:
            f.write(blob)
        return self.path(name)

    def _write_raw(self, name, header_obj=None, data=b"", raw_header=None, length=None):
        header = raw_header if raw_header is not None else json.dumps(header_obj).encode()
        size = len(header) if length is None else length
        with open(self.path(name), "wb") as f:
            f.write(struct.pack("<Q", size) + header + data)
        return self.path(name)

    def test_strict_reading(self):
        cases = {
            "short": (lambda: self._write_bytes("short", b"\x01\x02"), "fewer than"),
            "beyond": (lambda: self._write_raw("beyond", {}, length=1000), "beyond the end"),
            "huge": (lambda: self._write_raw("huge", {}, length=200_000_000), "limit"),
            "not_object": (lambda: self._write_raw("not_object", [1, 2]), "JSON object"),
            "not_json": (lambda: self._write_raw("not_json", raw_header=b"{nope"), "JSON"),
            "dtype": (lambda: self._write_raw(
                "dtype", {"t": {"dtype": "F8", "shape": [1], "data_offsets": [0, 1]}}, b"\0"),
                "unknown dtype"),
            "negative": (lambda: self._write_raw(
                "negative", {"t": {"dtype": "U8", "shape": [-1], "data_offsets": [0, 1]}}, b"\0"),
                "negative"),
            "size": (lambda: self._write_raw(
                "size", {"t": {"dtype": "F32", "shape": [2], "data_offsets": [0, 4]}}, b"\0" * 8),
                "needs 8"),
            "outside": (lambda: self._write_raw(
                "outside", {"t": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}},
                b"\0" * 8), "outside"),
            "overlap": (lambda: self._write_raw(
                "overlap", {"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                            "t": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}},
                b"\0" * 8), "overlaps"),
            "metadata": (lambda: self._write_raw("metadata", {"__metadata__": {"a": 1}}),
                         "string to string"),
        }
        for name, (write, message) in cases.items():
            with self.subTest(case=name):
                path = write()
                with self.assertRaises(safetensors_io.SafetensorsFormatError) as ctx:
                    safetensors_io.load(path)
                text = str(ctx.exception)
                self.assertTrue(text.startswith("ERR_FORMAT"), text)
                self.assertIn(message, text)
                self.assertIn(path, text)
                if name in ("dtype", "negative", "size", "outside", "overlap"):
                    self.assertIn("'t'", text)  # names the tensor


# ---------------------------------------------------------------------------------------------
# Loss pieces, checked by hand
# ---------------------------------------------------------------------------------------------


class LossPiecesTest(unittest.TestCase):
    def test_barlow_hand_values(self):
        # bn(z1) = a, bn(z2) = b, N = 2:  c = aᵀb / 2 = [[1, -1], [1, -1]]
        a = torch.tensor([[1.0, 1.0], [-1.0, -1.0]])
        b = torch.tensor([[1.0, -1.0], [-1.0, 1.0]])
        c = a.T @ b / 2
        self.assertTrue(torch.equal(c, torch.tensor([[1.0, -1.0], [1.0, -1.0]])))
        # on = ((1-1)² + (-1-1)²)·0.5 = 2;  off = ((-1)² + 1²)·0.5 = 1
        kaku = moco_step.barlow_loss_from_cross_correlation(c, 0.1, 0.5, "kaku2021")
        original = moco_step.barlow_loss_from_cross_correlation(c, 0.1, 0.5, "original")
        self.assertAlmostEqual(kaku.item(), 0.1 * (2 + 1), places=6)
        self.assertAlmostEqual(original.item(), 2 + 0.1 * 1, places=6)
        self.assertEqual(moco_step.off_diagonal(torch.arange(9.0).view(3, 3)).tolist(),
                         [1.0, 2.0, 3.0, 5.0, 6.0, 7.0])

    def test_projection_normalises_each_view_separately(self):
        projection = Projection(2, (2, 2, 1)).train()
        with torch.no_grad():  # make the projector the identity on the first coordinate
            for index in (0, 3):
                projection.projector[index].weight.copy_(torch.eye(2))
            projection.projector[6].weight.copy_(torch.tensor([[1.0, 0.0]]))
        # Inputs ≥ 0 so the ReLUs pass; BN1d(train) turns each view into ±1 in every column.
        y_q = torch.tensor([[1.0, 0.0], [3.0, 0.0]])
        y_k = torch.tensor([[10.0, 0.0], [2.0, 0.0]])
        c = projection(y_q, y_k)
        # bn(z1) ≈ [-1, 1], bn(z2) ≈ [1, -1]  →  c = (−1·1 + 1·−1)/2 = −1 (up to BN's eps)
        self.assertAlmostEqual(c.item(), -1.0, places=3)
        # Two projector forwards and two bn calls per step: running statistics updated twice.
        self.assertEqual(int(projection.projector[1].num_batches_tracked), 2)
        self.assertEqual(int(projection.bn.num_batches_tracked), 2)

    def test_mse_hand_values(self):
        q = torch.tensor([[[[1.0, 2.0], [3.0, 4.0]]]])  # 1×1×2×2
        k = torch.zeros_like(q)
        # pool 1: mean 2.5 → 2.5² = 6.25;  pool 2: mean(1, 4, 9, 16) = 7.5
        self.assertAlmostEqual(moco_step.mse_block_loss(q, k, 1, 0.5).item(), 0.5 * 6.25)
        self.assertAlmostEqual(moco_step.mse_block_loss(q, k, 2, 0.25).item(), 0.25 * 7.5)

    def test_info_nce_hand_value(self):
        q = torch.tensor([[1.0, 0.0]])
        queue = torch.tensor([[0.0], [1.0]])  # D×K, one negative orthogonal to q
        loss, logits = moco_step.info_nce(q, q.clone(), queue, 0.5)
        self.assertTrue(torch.equal(logits, torch.tensor([[2.0, 0.0]])))
        self.assertAlmostEqual(loss.item(), math.log(1 + math.exp(-2.0)), places=6)
        self.assertEqual(moco_step.top_k_fraction(torch.tensor([[2.0, 0.0], [0.0, 1.0]]), 1), 0.5)

    def test_queue_wraps_for_batch_not_dividing_k(self):
        queue = torch.full((1, 10), -1.0)  # D = 1, K = 10
        ptr = torch.zeros(1, dtype=torch.long)
        for start in (0, 4, 8):  # three batches of N = 4: keys 0..11
            moco_step.enqueue(queue, ptr, torch.arange(start, start + 4.0).view(4, 1))
        self.assertEqual(int(ptr[0]), 2)
        self.assertEqual(queue[0].tolist(), [10.0, 11.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0])

    def test_queue_keeps_the_last_k_keys_when_n_exceeds_k(self):
        queue = torch.zeros(1, 3)
        ptr = torch.tensor([1])
        moco_step.enqueue(queue, ptr, torch.arange(5.0).view(5, 1))  # writes cols 1,2,0,1,2
        self.assertEqual(queue[0].tolist(), [2.0, 3.0, 4.0])
        self.assertEqual(int(ptr[0]), 0)

    def test_shuffle_bn_emulation_restores_order(self):
        seen_batches = []

        def stub_encoder(x):  # N×1×1×1 → embedding N×1, block i = x·i
            seen_batches.append(x.flatten().tolist())
            return x.flatten(1), tuple(x * i for i in range(1, 5))

        x = torch.arange(8.0).view(8, 1, 1, 1)
        generator = torch.Generator().manual_seed(0)
        embedding, blocks = moco_step.run_key_encoder(stub_encoder, x, 4, generator)
        self.assertTrue(torch.equal(embedding, x.flatten(1)))
        for i, block in enumerate(blocks, start=1):
            self.assertTrue(torch.equal(block, x * i))
        # Four sub-batches of two, in the order randperm(8) from the trainer's generator gives.
        perm = torch.randperm(8, generator=torch.Generator().manual_seed(0)).tolist()
        self.assertEqual(seen_batches, [[float(v) for v in perm[j:j + 2]] for j in range(0, 8, 2)])
        # groups = 1 draws nothing from the generator.
        state_before = generator.get_state()
        moco_step.run_key_encoder(stub_encoder, x, 1, generator)
        self.assertTrue(torch.equal(generator.get_state(), state_before))
        with self.assertRaises(ValueError):
            moco_step.run_key_encoder(stub_encoder, x, 3, generator)

    def test_schedules(self):
        cfg = make_config(**{"optimizer.warmupSteps": 2, "optimizer.schedule": "cosine",
                             "totalSteps": 6, "optimizer.lr": 1.0})
        lrs = [schedules.learning_rate(t, cfg) for t in range(8)]
        expected = [0.5, 1.0] + [0.5 * (1 + math.cos(math.pi * (t - 2) / 4)) for t in range(2, 6)]
        for got, want in zip(lrs, expected + [0.0, 0.0]):
            self.assertAlmostEqual(got, want, places=12)
        cfg = make_config(**{"optimizer.schedule": "step", "optimizer.milestones": [2, 4],
                             "optimizer.gamma": 0.1, "optimizer.lr": 1.0})
        self.assertEqual([schedules.learning_rate(t, cfg) for t in (0, 1, 2, 3, 4)],
                         [1.0, 1.0, 0.1, 0.1, 1.0 * 0.1 ** 2])
        cfg = make_config(keyMomentumSchedule="cosine", keyMomentum=0.99, totalSteps=4)
        self.assertEqual(schedules.key_momentum(0, cfg), 0.99)
        self.assertAlmostEqual(schedules.key_momentum(2, cfg), 0.995, places=12)
        self.assertEqual(schedules.key_momentum(4, cfg), 1.0)
        self.assertEqual(schedules.key_momentum(9, cfg), 1.0)


# ---------------------------------------------------------------------------------------------
# Model, configuration and state
# ---------------------------------------------------------------------------------------------


class ModelAndStateTest(unittest.TestCase):
    def test_state_dict_names_match_the_contract(self):
        torch.manual_seed(0)
        model = MoCo(make_config(**{"intermediate.loss": "barlow", "head": "mlp"}))
        names = model.state_dict()
        for name in ("encoder_q.conv1.weight", "encoder_q.bn1.num_batches_tracked",
                     "encoder_q.layer1.0.conv1.weight", "encoder_q.layer2.0.downsample.0.weight",
                     "encoder_q.fc.0.weight", "encoder_q.fc.2.bias", "encoder_k.fc.2.weight",
                     "queue", "queue_ptr", "p1.projector.0.weight", "p1.projector.1.running_var",
                     "p3.projector.4.num_batches_tracked", "p4.projector.6.weight",
                     "p2.bn.running_mean", "p4.bn.num_batches_tracked"):
            self.assertIn(name, names)
        self.assertNotIn("p1.bn.weight", names)        # affine=False
        self.assertNotIn("p1.projector.0.bias", names)  # no bias
        self.assertEqual(tuple(names["encoder_q.fc.0.weight"].shape), (512, 512))
        self.assertEqual(tuple(names["encoder_q.fc.2.weight"].shape), (16, 512))
        self.assertEqual(tuple(names["p2.projector.0.weight"].shape), (32, 128))
        self.assertEqual(tuple(names["queue"].shape), (16, 10))
        self.assertTrue(torch.allclose(names["queue"].norm(dim=0), torch.ones(10)))
        self.assertEqual(names["queue_ptr"].dtype, torch.int64)
        self.assertEqual(names["encoder_q.bn1.num_batches_tracked"].dim(), 0)
        self.assertEqual(tuple(names["encoder_q.conv1.weight"].shape), (64, 3, 3, 3))
        self.assertIsInstance(model.encoder_q.maxpool, torch.nn.Identity)
        self.assertTrue(all(not p.requires_grad for p in model.encoder_k.parameters()))
        self.assertEqual(float(names["encoder_q.layer1.0.bn2.weight"].abs().sum()), 0.0)
        for name, tensor in model.encoder_q.state_dict().items():
            self.assertTrue(torch.equal(tensor, names["encoder_k." + name]), name)
        trainable = [n for n, _ in model.trainable_named_parameters()]
        self.assertTrue(trainable[0].startswith("encoder_q.") and trainable[-1].startswith("p4."))

    def test_grayscale_standard_stem(self):
        model = MoCo(make_config(stem="standard", inChannels=1, **{"intermediate.loss": "none"}))
        self.assertEqual(tuple(model.encoder_q.conv1.weight.shape), (64, 1, 7, 7))
        self.assertIsInstance(model.encoder_q.maxpool, torch.nn.MaxPool2d)
        self.assertFalse(any(name.startswith("p1.") for name in model.state_dict()))

    def test_config_errors_name_the_field(self):
        cfg = copy.deepcopy(BASE_CONFIG)
        del cfg["optimizer"]["lr"]
        with self.assertRaisesRegex(config_lib.ConfigError, r"optimizer\.lr' is missing"):
            config_lib.validate(cfg)
        with self.assertRaisesRegex(config_lib.ConfigError, r"'arch': expected one of"):
            config_lib.validate(dict(BASE_CONFIG, arch="vgg"))
        with self.assertRaisesRegex(config_lib.ConfigError, "poolSizes"):
            make_config(**{"intermediate.mse.poolSizes": [1, 2, 3]})
        self.assertEqual(config_lib.unwrap({"config": json.dumps(BASE_CONFIG)}), BASE_CONFIG)

    def test_state_round_trip_and_errors(self):
        cfg = make_config(**{"intermediate.loss": "barlow"})
        tensors, metadata = init_state.initial_state(cfg, seed=3)
        self.assertEqual(metadata["format"], "imlm-native/train-state")
        self.assertEqual(metadata["format_version"], "1")
        self.assertEqual(json.loads(metadata["config"]), cfg)
        self.assertEqual(tensors["step"].dtype, torch.int64)
        self.assertEqual(tensors["step"].dim(), 0)
        self.assertTrue(torch.equal(tensors["rng.cpu"],
                                    torch.Generator().manual_seed(3).get_state()))
        self.assertFalse(any(name.startswith("optimizer.") for name in tensors))
        run = state_lib.run_from_tensors(cfg, tensors, torch.device("cpu"))
        again = state_lib.run_to_tensors(run)
        self.assertEqual(sorted(again), sorted(tensors))
        for name in tensors:
            self.assertTrue(torch.equal(again[name], tensors[name]), name)

        missing = dict(tensors)
        del missing["p2.bn.running_var"]
        with self.assertRaisesRegex(state_lib.StateError, r"missing tensor 'p2\.bn\.running_var'"):
            state_lib.run_from_tensors(cfg, missing, torch.device("cpu"))
        wrong = dict(tensors, queue=torch.zeros(16, 11))
        with self.assertRaisesRegex(state_lib.StateError,
                                    r"'queue' should be float32 \[16, 10\].*found float32 \[16, 11\]"):
            state_lib.run_from_tensors(cfg, wrong, torch.device("cpu"))
        bad_buffer = dict(tensors, **{"optimizer.momentum_buffer.encoder_k.conv1.weight":
                                      torch.zeros(64, 3, 3, 3)})
        with self.assertRaisesRegex(state_lib.StateError, "unexpected tensor"):
            state_lib.run_from_tensors(cfg, bad_buffer, torch.device("cpu"))
        non_finite = dict(tensors, **{"encoder_q.fc.bias": torch.full((16,), float("nan"))})
        with self.assertRaisesRegex(state_lib.StateError, "NaN"):
            state_lib.run_from_tensors(cfg, non_finite, torch.device("cpu"))


# ---------------------------------------------------------------------------------------------
# Replay: every loss runs, is deterministic, and resumes exactly
# ---------------------------------------------------------------------------------------------

REPLAY_CONFIGS = {
    # Covers: mlp head, cosine lr with warm-up, cosine key momentum, Nesterov, gradient clipping.
    "none": make_config(**{"intermediate.loss": "none", "head": "mlp",
                           "keyMomentumSchedule": "cosine", "totalSteps": 3,
                           "optimizer.schedule": "cosine", "optimizer.warmupSteps": 1,
                           "optimizer.nesterov": True, "optimizer.gradClip": 1.0}),
    # Covers: shuffle-BN emulation, step schedule.
    "mse": make_config(**{"intermediate.loss": "mse", "shuffleGroups": 2,
                          "optimizer.schedule": "step", "optimizer.milestones": [1],
                          "optimizer.gamma": 0.5}),
    # Covers: Barlow projectors, original weighting, grayscale input, shuffle-BN.
    "barlow": make_config(**{"intermediate.loss": "barlow", "inChannels": 1, "shuffleGroups": 2,
                             "intermediate.barlow.weighting": "original"}),
}


def replay_in_process(cfg, state_tensors, batches, first=0, count=None):
    q, k = batches["q"], batches["k"]
    end = q.shape[0] if count is None else first + count
    return replay.replay(cfg, state_tensors, q[first:end], k[first:end], torch.device("cpu"))


def assert_same_tensors(test, a, b):
    test.assertEqual(sorted(a), sorted(b))
    for name in a:
        test.assertTrue(torch.equal(a[name], b[name]), f"tensor '{name}' differs")


class ReplayTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        replay.make_deterministic(torch.device("cpu"))
        cls.inputs = {}
        for loss, cfg in REPLAY_CONFIGS.items():
            tensors, _ = init_state.initial_state(cfg, seed=0)
            batches = make_batches.make_batches(3, 4, cfg["inChannels"], 32, seed=1)
            cls.inputs[loss] = (cfg, tensors, batches)

    def test_each_loss_runs_and_is_deterministic(self):
        for loss in ("none", "barlow"):
            with self.subTest(loss=loss):
                cfg, tensors, batches = self.inputs[loss]
                metrics, final = replay_in_process(cfg, tensors, batches)
                metrics2, final2 = replay_in_process(cfg, tensors, batches)
                assert_same_tensors(self, metrics, metrics2)
                assert_same_tensors(self, final, final2)
                self.check_outputs(loss, cfg, tensors, metrics, final)

    def check_outputs(self, loss, cfg, initial, metrics, final):
        self.assertEqual(tuple(metrics["loss"].shape), (3,))
        self.assertEqual(tuple(metrics["loss_blocks"].shape), (3, 4))
        self.assertTrue(torch.isfinite(metrics["loss"]).all())
        blocks_sum = metrics["loss_blocks"].sum(dim=1)
        if loss == "none":
            self.assertEqual(float(metrics["loss_blocks"].abs().sum()), 0.0)
        else:
            self.assertTrue((metrics["loss_blocks"] > 0).all())
        self.assertTrue(torch.allclose(metrics["loss"], metrics["loss_infonce"] + blocks_sum,
                                       rtol=1e-5, atol=1e-6))
        self.assertEqual(int(final["step"]), 3)
        self.assertEqual(int(final["queue_ptr"][0]), (3 * 4) % cfg["queueSize"])  # wrapped
        expected_buffers = {"optimizer.momentum_buffer." + name for name in initial
                            if name.startswith(("encoder_q.", "p1.", "p2.", "p3.", "p4."))
                            and "running_" not in name and "num_batches_tracked" not in name}
        self.assertEqual({n for n in final if n.startswith("optimizer.")}, expected_buffers)
        self.assertFalse(torch.equal(final["encoder_k.conv1.weight"],
                                     initial["encoder_k.conv1.weight"]))
        groups = cfg["shuffleGroups"]
        self.assertEqual(int(final["encoder_k.bn1.num_batches_tracked"]), 3 * groups)
        self.assertEqual(int(final["encoder_q.bn1.num_batches_tracked"]), 3)
        # The generator moved only if shuffle-BN drew permutations.
        self.assertEqual(torch.equal(final["rng.cpu"], initial["rng.cpu"]), groups == 1)

    def test_cli_matches_in_process_and_resumes_exactly(self):
        cfg, tensors, batches = self.inputs["mse"]
        metrics, final = replay_in_process(cfg, tensors, batches)
        self.check_outputs("mse", cfg, tensors, metrics, final)
        with tempfile.TemporaryDirectory() as tmp:
            paths = {name: os.path.join(tmp, name) for name in
                     ("config.json", "state.safetensors", "batches.safetensors", "out.safetensors",
                      "first.safetensors", "rest.safetensors")}
            with open(paths["config.json"], "w") as f:
                json.dump(cfg, f)

            def cli(script, *args):
                subprocess.run([sys.executable, os.path.join(HERE, script), *args], check=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

            cli("init_state.py", "--config", paths["config.json"], "--seed", "0",
                "--out", paths["state.safetensors"])
            cli("make_batches.py", "--steps", "3", "--batch", "4", "--channels", "3",
                "--size", "32", "--seed", "1", "--out", paths["batches.safetensors"])
            cli("replay.py", "--config", paths["config.json"], "--state",
                paths["state.safetensors"], "--batches", paths["batches.safetensors"],
                "--out", paths["out.safetensors"], "--quiet")
            out, out_metadata = safetensors_io.load(paths["out.safetensors"])
            self.assertEqual(json.loads(out_metadata["config"]), cfg)
            assert_same_tensors(self, out, dict(final, **metrics))

            # Resume: 1 step, save, 2 more steps from the saved state == 3 steps in one go.
            safetensors_io.save(paths["batches.safetensors"],
                                {"q": batches["q"][:1], "k": batches["k"][:1]})
            cli("replay.py", "--state", paths["state.safetensors"], "--batches",
                paths["batches.safetensors"], "--out", paths["first.safetensors"], "--quiet")
            safetensors_io.save(paths["batches.safetensors"],
                                {"q": batches["q"][1:], "k": batches["k"][1:]})
            cli("replay.py", "--state", paths["first.safetensors"], "--batches",
                paths["batches.safetensors"], "--out", paths["rest.safetensors"], "--quiet")
            rest, _ = safetensors_io.load(paths["rest.safetensors"])
        for name in final:
            self.assertTrue(torch.equal(rest[name], final[name]), f"resumed '{name}' differs")
        self.assertTrue(torch.equal(rest["loss"], metrics["loss"][1:]))


class NonFiniteTest(unittest.TestCase):
    def test_non_finite_loss_applies_nothing(self):
        cfg = make_config(**{"imageSize": 16, "shuffleGroups": 2, "intermediate.loss": "mse"})
        run = state_lib.new_run(cfg, seed=0, device=torch.device("cpu"))
        good = torch.rand(4, 3, 16, 16, generator=torch.Generator().manual_seed(0))
        moco_step.train_step(run, good, good)  # one real step: momentum buffers exist
        before = state_lib.run_to_tensors(run)
        bad = good.clone()
        bad[0, 0, 0, 0] = float("nan")
        with self.assertRaisesRegex(moco_step.NonFiniteLossError, "ERR_NON_FINITE"):
            moco_step.train_step(run, bad, good)
        assert_same_tensors(self, state_lib.run_to_tensors(run), before)


class LearningTest(unittest.TestCase):
    def test_loss_falls_on_a_fixed_batch(self):
        """30 steps on one fixed batch of 8 slightly different view pairs (16×16, K = 64).

        The InfoNCE term cannot fall far: once the queue is full (K / N = 8 steps) it holds
        the batch's own earlier keys, near-copies of the positives, so InfoNCE stays near
        log(1 + 8). The Barlow term (original weighting, scale 1) has no such floor, so the total
        must fall clearly; InfoNCE must still fall after the queue has filled."""
        cfg = make_config(**{"imageSize": 16, "batchSize": 8, "queueSize": 64,
                             "temperature": 0.2, "intermediate.loss": "barlow",
                             "intermediate.barlow.weighting": "original",
                             "intermediate.barlow.scale": 1.0,
                             "intermediate.barlow.lambda": 5e-3})
        run = state_lib.new_run(cfg, seed=0, device=torch.device("cpu"))
        g = torch.Generator().manual_seed(3)
        base = torch.rand(8, 3, 16, 16, generator=g)
        q = (base + 0.05 * torch.randn(8, 3, 16, 16, generator=g)).clamp(0, 1)
        k = (base + 0.05 * torch.randn(8, 3, 16, 16, generator=g)).clamp(0, 1)
        results = [moco_step.train_step(run, q, k) for _ in range(30)]
        losses = [r["loss"] for r in results]
        infonce = [r["loss_infonce"] for r in results]
        self.assertTrue(all(math.isfinite(v) for v in losses))
        # The first few steps are a transient (the projectors' BN statistics and the queue
        # settle); from step 5 on the loss must go clearly down.
        self.assertLess(sum(losses[-5:]) / 5, 0.85 * sum(losses[5:10]) / 5, losses)
        self.assertLess(infonce[-1], infonce[8], infonce)


if __name__ == "__main__":
    unittest.main(verbosity=2)
