"""Initializers: every registered id, seeding, the distributions' statistics, fans, bad input."""

import math
import re

import pytest
import torch

from kerasette import config, initializers
from kerasette.random_state import set_random_seed

F64 = torch.float64
DOCUMENTED = ["glorot_uniform", "glorot_normal", "he_uniform", "he_normal", "lecun_uniform",
              "lecun_normal", "random_normal", "torch_default", "zeros", "ones", "constant"]
REGISTERED = sorted(initializers._REGISTRY)
RANDOM = [name for name in REGISTERED if name not in ("zeros", "ones", "constant")]
MATRIX_ONLY = {"orthogonal"}  # ids that need a shape of 2+ dims
# A big kernel: fan_in = 800, fan_out = 400; 320k draws make sample statistics tight.
SHAPE = (800, 400)
FAN_IN, FAN_OUT = SHAPE


def draw(name, shape=SHAPE, **kw):
    return initializers.get({"class_name": name, "config": {"seed": 7, **kw}})(shape, F64)


def test_documented_ids_are_registered():
    assert set(DOCUMENTED) <= set(REGISTERED)


@pytest.mark.parametrize("name", REGISTERED)
def test_every_registered_id_gives_a_finite_tensor_of_the_shape(name):
    init = initializers.get(name)
    assert isinstance(init, initializers.Initializer)
    for shape in [(5, 3), (7,), (3, 3, 2, 4)]:
        if name in MATRIX_ONLY and len(shape) < 2:
            continue  # rejected; see test_orthogonal_rejects_shapes_under_two_dims
        value = init(shape)
        assert value.shape == shape and value.dtype == config.floatx_dtype()
        assert torch.isfinite(value).all()
    assert init((2, 3), dtype=F64).dtype == F64
    assert init((2, 3), dtype="float64").dtype == F64


@pytest.mark.parametrize("name", REGISTERED)
def test_default_dtype_follows_floatx(name, float64):
    assert initializers.get(name)((4, 2)).dtype == F64


@pytest.mark.parametrize("name", RANDOM)
def test_seeded_initializers_are_reproducible_and_differ_across_seeds(name):
    make = initializers._REGISTRY[name]
    a, b, c = make(seed=3), make(seed=3), make(seed=4)
    assert torch.equal(a((20, 10)), b((20, 10)))
    assert torch.equal(a((20, 10)), a((20, 10)))  # the same tensor at every call
    assert not torch.equal(a((20, 10)), c((20, 10)))


@pytest.mark.parametrize("name", RANDOM)
def test_unseeded_initializers_follow_the_global_seed(name):
    init = initializers.get(name)
    set_random_seed(11)
    first, second = init((20, 10)), init((20, 10))
    set_random_seed(11)
    assert torch.equal(init((20, 10)), first) and torch.equal(init((20, 10)), second)
    assert not torch.equal(first, second)


@pytest.mark.parametrize("name", REGISTERED)
def test_serialize_round_trips(name):
    init = initializers.get(name)
    config_ = initializers.serialize(init)
    again = initializers.get(config_)
    assert type(again) is type(init) and again.get_config() == init.get_config()


# ----- statistics -------------------------------------------------------------------------------
def assert_uniform(x, bound):
    assert x.abs().max() <= bound
    assert x.abs().max() > 0.99 * bound
    assert abs(x.mean()) < 0.01 * bound
    assert x.var().item() == pytest.approx(bound ** 2 / 3, rel=0.02)


def assert_normal(x, std, truncated, mean=0.0):
    assert abs(x.mean() - mean) < 0.01 * std
    assert x.std().item() == pytest.approx(std, rel=0.02)
    spread = (x - mean).abs().max() / std
    if truncated:  # Keras: truncated at 2 std of the normal before rescaling by 1/0.8796...
        assert spread <= 2 / 0.87962566103423978
    else:
        assert spread > 3.5


def test_glorot_uniform_bound():
    assert_uniform(draw("glorot_uniform"), math.sqrt(6 / (FAN_IN + FAN_OUT)))


def test_glorot_normal_is_a_plain_normal_with_gain():
    std = math.sqrt(2 / (FAN_IN + FAN_OUT))
    assert_normal(draw("glorot_normal"), std, truncated=False)
    assert_normal(draw("glorot_normal", gain=2.5), 2.5 * std, truncated=False)
    assert initializers.get("xavier_normal").get_config() == {"gain": 1.0, "seed": None}


def test_he_and_lecun():
    assert_uniform(draw("he_uniform"), math.sqrt(6 / FAN_IN))
    assert_normal(draw("he_normal"), math.sqrt(2 / FAN_IN), truncated=True)
    assert_uniform(draw("lecun_uniform"), math.sqrt(3 / FAN_IN))
    assert_normal(draw("lecun_normal"), math.sqrt(1 / FAN_IN), truncated=True)


def test_variance_scaling_modes_and_distributions():
    n_avg = (FAN_IN + FAN_OUT) / 2
    x = draw("variance_scaling", scale=3.0, mode="fan_avg", distribution="uniform")
    assert_uniform(x, math.sqrt(3 * 3.0 / n_avg))
    x = draw("variance_scaling", scale=0.5, mode="fan_out", distribution="normal")
    assert_normal(x, math.sqrt(0.5 / FAN_OUT), truncated=False)
    x = draw("variance_scaling")  # Keras defaults: scale 1, fan_in, truncated normal
    assert_normal(x, math.sqrt(1 / FAN_IN), truncated=True)


def test_torch_default_bound_is_one_over_sqrt_fan_in():
    assert_uniform(draw("torch_default"), 1 / math.sqrt(FAN_IN))
    bias = initializers.TorchDefault(fan_in=7, seed=1)((100_000,), F64)
    assert_uniform(bias, 1 / math.sqrt(7))
    assert_uniform(initializers.TorchDefault(seed=1)((100_000,), F64), 1 / math.sqrt(100_000))


def test_random_normal_and_uniform():
    assert_normal(draw("random_normal"), 1.0, truncated=False)  # the seeds' N(0, 1)
    assert_normal(draw("random_normal", mean=2.0, stddev=0.5), 0.5, truncated=False, mean=2.0)
    x = draw("random_uniform")
    assert x.min() >= -0.05 and x.max() <= 0.05 and x.max() - x.min() > 0.099
    x = draw("random_uniform", minval=1.0, maxval=3.0)
    assert x.min() >= 1.0 and x.max() <= 3.0 and abs(x.mean() - 2.0) < 0.01


def test_constants():
    assert torch.equal(initializers.get("zeros")((2, 3)), torch.zeros(2, 3))
    assert torch.equal(initializers.get("ones")((2, 3)), torch.ones(2, 3))
    assert torch.equal(initializers.get("constant")((2,)), torch.zeros(2))
    assert torch.equal(initializers.Constant(3.5)((2, 2), F64), torch.full((2, 2), 3.5, dtype=F64))
    assert initializers.Constant(torch.tensor(2.0)).value == 2.0


def test_zero_size_shapes_give_empty_tensors():
    for name in REGISTERED:
        assert initializers.get(name)((0, 3)).shape == (0, 3)
        if name not in MATRIX_ONLY:
            assert initializers.get(name)((0,)).shape == (0,)


# ----- fans -------------------------------------------------------------------------------------
@pytest.mark.parametrize("shape,fans", [
    ((), (1, 1)),
    ((5,), (5, 5)),
    ((3, 4), (3, 4)),
    ((5, 4, 8), (20, 40)),          # Conv1D kernel (k, in, out)
    ((3, 3, 16, 32), (144, 288)),   # Conv2D kernel (kh, kw, in, out)
])
def test_compute_fans(shape, fans):
    assert initializers.compute_fans(shape) == fans


def test_fans_drive_the_scale_of_conv_kernels():
    x = initializers.GlorotUniform(seed=0)((3, 3, 64, 128), F64)
    assert_uniform(x, math.sqrt(6 / (9 * 64 + 9 * 128)))


# ----- bad input --------------------------------------------------------------------------------
def test_unknown_string_lists_the_valid_names():
    with pytest.raises(ValueError, match="Unknown initializer: 'glorot'") as info:
        initializers.get("glorot")
    for name in DOCUMENTED:
        assert repr(name) in str(info.value)
    with pytest.raises(ValueError, match="Unknown initializer config"):
        initializers.get({"class_name": "Nope", "config": {}})
    with pytest.raises(TypeError, match="Invalid initializer"):
        initializers.get(3)


def test_get_passes_initializers_and_callables_through():
    init = initializers.HeNormal(seed=1)
    assert initializers.get(init) is init

    def custom(shape, dtype=None):
        return torch.full(shape, 0.25)

    assert initializers.get(custom) is custom
    with pytest.raises(ValueError, match="custom initializer"):
        initializers.serialize(custom)


@pytest.mark.parametrize("make", [
    lambda: initializers.RandomNormal(seed=-1),
    lambda: initializers.GlorotUniform(seed=-5),
    lambda: initializers.HeNormal(seed=True),
    lambda: initializers.RandomUniform(seed=1.5),
    lambda: initializers.RandomNormal(stddev=-0.1),
    lambda: initializers.RandomNormal(stddev=float("nan")),
    lambda: initializers.RandomUniform(minval=1.0, maxval=0.0),
    lambda: initializers.VarianceScaling(scale=0),
    lambda: initializers.VarianceScaling(mode="fan_sum"),
    lambda: initializers.VarianceScaling(distribution="cauchy"),
    lambda: initializers.GlorotNormal(gain=0.0),
    lambda: initializers.TorchDefault(fan_in=0),
    lambda: initializers.TorchDefault(fan_in=-3),
    lambda: initializers.GlorotUniform()((-1, 3)),
    lambda: initializers.GlorotUniform()((2, 3), dtype="float99"),
])
def test_bad_arguments_raise_value_error(make):
    with pytest.raises(ValueError, match="Invalid"):
        make()


@pytest.mark.parametrize("make", [
    lambda: initializers.RandomNormal(stddev="1"),
    lambda: initializers.Constant("a"),
    lambda: initializers.RandomNormal(mean=None),
    lambda: initializers.GlorotNormal(gain=[1.0]),
    lambda: initializers.GlorotUniform()((2, 3), dtype=3),
])
def test_bad_argument_types_raise_type_error(make):
    with pytest.raises(TypeError, match="Invalid"):
        make()


# ----- orthogonal -------------------------------------------------------------------------------
def assert_orthonormal(q, tall):
    """q^T q = I (tall: orthonormal columns) or q q^T = I (wide: orthonormal rows)."""
    gram = q.T @ q if tall else q @ q.T
    assert (gram - torch.eye(gram.shape[0], dtype=F64)).abs().max() < 1e-6


@pytest.mark.parametrize("shape", [(50, 20), (20, 50), (16, 16), (1, 5), (5, 1)])
def test_orthogonal_is_orthogonal(shape):
    q = initializers.Orthogonal(seed=3)(shape, F64)
    assert q.shape == shape and q.dtype == F64
    assert_orthonormal(q, tall=shape[0] >= shape[1])
    if shape[0] == shape[1]:  # square: both
        assert_orthonormal(q, tall=False)


def test_orthogonal_gain_scales_it():
    q = initializers.Orthogonal(seed=5)((30, 10), F64)
    q3 = initializers.Orthogonal(gain=3.0, seed=5)((30, 10), F64)
    assert torch.allclose(q3, 3.0 * q, rtol=0, atol=1e-12)
    assert_orthonormal(q3 / 3.0, tall=True)
    assert (q3.T @ q3 - 9.0 * torch.eye(10, dtype=F64)).abs().max() < 1e-6


def test_orthogonal_same_seed_same_tensor():
    a, b = initializers.Orthogonal(seed=9), initializers.Orthogonal(seed=9)
    assert torch.equal(a((12, 7), F64), b((12, 7), F64))
    assert torch.equal(a((12, 7), F64), a((12, 7), F64))
    assert not torch.equal(a((12, 7), F64), initializers.Orthogonal(seed=10)((12, 7), F64))


def test_orthogonal_matches_the_keras_recipe():
    """Same generator draws, done by hand: N(0, 1) of (max, min), QR, sign(diag(R)), transpose."""
    a = torch.randn(6, 4, generator=torch.Generator().manual_seed(2), dtype=F64)
    q, r = torch.linalg.qr(a)
    expected = (q * torch.sign(torch.diagonal(r))).T * 1.5
    got = initializers.Orthogonal(gain=1.5, seed=2)((4, 6), F64)
    assert torch.allclose(got, expected, rtol=0, atol=1e-12)


@pytest.mark.parametrize("shape,tall", [((3, 3, 16, 32), True), ((3, 3, 2, 32), False)])
def test_orthogonal_conv_kernel_flattens_the_leading_dims(shape, tall):
    """A conv kernel (kh, kw, in, out) is a (kh*kw*in, out) orthogonal matrix, reshaped."""
    q = initializers.Orthogonal(seed=1)(shape, F64)
    assert q.shape == shape
    assert_orthonormal(q.reshape(-1, shape[-1]), tall=tall)


@pytest.mark.parametrize("shape", [(7,), (), (0,)])
def test_orthogonal_rejects_shapes_under_two_dims(shape):
    with pytest.raises(ValueError, match=r"Invalid shape.*2 dims.*" + re.escape(str(shape))):
        initializers.Orthogonal(seed=0)(shape)


def test_orthogonal_from_string_id_and_config():
    init = initializers.get("orthogonal")
    assert type(init) is initializers.Orthogonal
    assert init.get_config() == {"gain": 1.0, "seed": None}
    assert_orthonormal(init((8, 3), F64), tall=True)
    config_ = initializers.serialize(initializers.Orthogonal(gain=2.0, seed=4))
    assert config_ == {"class_name": "orthogonal", "config": {"gain": 2.0, "seed": 4}}
    again = initializers.get(config_)
    assert type(again) is initializers.Orthogonal
    assert again.get_config() == {"gain": 2.0, "seed": 4}
    assert torch.equal(again((5, 5), F64), initializers.Orthogonal(gain=2.0, seed=4)((5, 5), F64))
    by_class_name = initializers.get({"class_name": "Orthogonal", "config": {"gain": 0.5}})
    assert type(by_class_name) is initializers.Orthogonal and by_class_name.gain == 0.5


def test_orthogonal_follows_floatx_by_default(float64):
    assert initializers.Orthogonal(seed=0)((6, 4)).dtype == F64


@pytest.mark.parametrize("gain,error", [
    (0.0, ValueError), (-1.0, ValueError), (float("nan"), ValueError),
    ("1", TypeError), (None, TypeError), ([1.0], TypeError), (True, TypeError),
])
def test_orthogonal_bad_gain_raises(gain, error):
    with pytest.raises(error, match="Invalid gain"):
        initializers.Orthogonal(gain=gain)
