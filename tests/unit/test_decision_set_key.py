"""Unit: the key the Decision Console caches plans and counts under, for a set of decisions."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from runway.services.data_orchestrators.decision_console_data_orchestrator import DecisionSetKey

pairs = st.sets(st.tuples(st.integers(1, 50_000), st.integers(1, 30)), max_size=300)


def _decision(pair: tuple[int, int]) -> Any:
    return SimpleNamespace(id=pair[0], version=pair[1])


@given(pairs, st.randoms())
def test_the_same_decisions_in_any_order_give_the_same_key(decisions, shuffler):
    listed = sorted(decisions)
    shuffler.shuffle(listed)
    assert DecisionSetKey.of_pairs(listed) == DecisionSetKey.of_pairs(sorted(decisions))


@given(pairs, st.tuples(st.integers(1, 50_000), st.integers(1, 30)))
def test_adding_then_removing_a_decision_moves_the_key_as_building_it_anew_does(decisions, pair):
    decisions.discard(pair)
    key = DecisionSetKey.of_pairs(decisions)
    added = key.with_(_decision(pair))

    assert added == DecisionSetKey.of_pairs(decisions | {pair})
    assert added != key
    assert added.without(_decision(pair)) == key


@given(pairs, pairs)
def test_different_decisions_give_different_keys(first, second):
    assert (DecisionSetKey.of_pairs(first) == DecisionSetKey.of_pairs(second)) == (first == second)


def test_a_new_version_of_one_decision_changes_the_key():
    decisions = {(i, 1) for i in range(1, 3_001)}
    key = DecisionSetKey.of_pairs(decisions)
    renewed = key.without(_decision((1_500, 1))).with_(_decision((1_500, 2)))
    assert renewed != key
    assert renewed == DecisionSetKey.of_pairs((decisions - {(1_500, 1)}) | {(1_500, 2)})
