"""A hop waits its batch window only while its batches are small."""

from shared.batching import SMALL_BATCH, BatchWindow


def test_a_quiet_hop_waits_the_window_and_a_busy_one_goes_at_once():
    window = BatchWindow(0.05)
    assert window.wait_s() == 0.05  # nothing taken yet: the first credit waits for others
    window.took(3)
    assert window.wait_s() == 0.05
    window.took(SMALL_BATCH)
    assert window.wait_s() == 0.0  # a large batch: the next goes at once
    window.took(1)
    assert window.wait_s() == 0.05


def test_no_window_never_waits():
    window = BatchWindow(0.0)
    window.took(1)
    assert window.wait_s() == 0.0
