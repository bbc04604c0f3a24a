"""Keyed random streams: consumers seeded with the same integer share no bits."""

import numpy as np
import pytest

from lrstats._streams import NAMESPACES, check_seed, generator, seed_sequence


def test_namespaces_are_distinct():
    assert len(set(NAMESPACES.values())) == len(NAMESPACES)


def test_same_seed_different_consumers_differ():
    draws = {
        consumer: np.random.default_rng(seed_sequence(0, consumer, 0)).integers(0, 2**62, 8)
        for consumer in NAMESPACES
    }
    values = list(draws.values())
    for i in range(len(values)):
        for j in range(i + 1, len(values)):
            assert not np.array_equal(values[i], values[j])


def test_analysis_generator_differs_from_every_sampling_replicate():
    analysis = generator(0, "analysis").integers(0, 2**62, 8)
    for replicate in range(50):
        replicate_draws = np.random.default_rng(seed_sequence(0, "sampling", replicate))
        assert not np.array_equal(analysis, replicate_draws.integers(0, 2**62, 8))
    # The naive derivation that the keyed streams replace would collide:
    naive_child = np.random.default_rng(0).spawn(1)[0].integers(0, 2**62, 8)
    naive_replicate = np.random.default_rng(np.random.SeedSequence(0, spawn_key=(0,)))
    assert np.array_equal(naive_child, naive_replicate.integers(0, 2**62, 8))


def test_stream_depends_only_on_seed_consumer_key():
    first = np.random.default_rng(seed_sequence(7, "sweep", 3, 1)).random(4)
    again = np.random.default_rng(seed_sequence(7, "sweep", 3, 1)).random(4)
    other = np.random.default_rng(seed_sequence(7, "sweep", 1, 3)).random(4)
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)


def test_generator_passes_generators_through_and_keys_seed_sequences():
    rng = np.random.default_rng(1)
    assert generator(rng, "analysis") is rng
    a = generator(np.random.SeedSequence(5), "analysis").random(3)
    b = generator(5, "analysis").random(3)
    assert not np.array_equal(a, np.random.default_rng(5).random(3))
    assert a.shape == b.shape


@pytest.mark.parametrize("seed", [-1, 2**128, 2**200])
def test_check_seed_range(seed):
    with pytest.raises(ValueError, match="`seed` must be None or an integer in"):
        check_seed(seed)


@pytest.mark.parametrize("seed", [1.5, "3", True])
def test_check_seed_type(seed):
    with pytest.raises(TypeError, match="`seed` must be None or an integer"):
        check_seed(seed)


def test_generator_rejects_bad_rng():
    with pytest.raises(TypeError, match="`rng` must be None, an int"):
        generator("x", "analysis")
    with pytest.raises(ValueError, match="`consumer` must be one of"):
        seed_sequence(0, "nobody")
