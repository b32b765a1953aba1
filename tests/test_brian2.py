"""Brian2 (optional extra) and the compiled LIF kernel simulate the same model: same input spikes and
rule give the same output rate and mean final inhibitory weight. Skipped where Brian2 is absent (it
needs numpy < 2.4: `pip install ".[brian2]"` in its own environment); CI runs it in such an
environment with EVOPLAST_REQUIRE_BRIAN2=1, where a missing Brian2 fails instead of skipping."""

import os

import numpy as np
import pytest

from evoplast.kernels import lif
from evoplast.rules.pre_post_trace import PrePostTraceRule
from evoplast.tasks import istdp_inputs

if os.environ.get("EVOPLAST_REQUIRE_BRIAN2"):
    import brian2  # noqa: F401
else:
    brian2 = pytest.importorskip("brian2")


@pytest.mark.timeout(300)
def test_brian2_and_the_compiled_kernel_agree_on_rate_and_weights():
    from evoplast.kernels import brian2_ref

    p = lif.NeuronParams()
    rule = PrePostTraceRule(alpha=-0.2, beta=0.0, gamma=1.0, kappa=1.0, eta=1e-3).params()
    inputs = istdp_inputs.make_inputs(np.random.default_rng(0), 2.0, p, "pathways")
    b = brian2_ref.simulate_brian2(inputs, p, rule, 0.1)
    counts, _, W, status, _ = lif.simulate([inputs], p, rule[None], np.full((1, inputs.n_inh), 0.1),
                                           silent_s=1e9)
    rate = counts.sum() / 2.0
    assert rate > 20  # starts far above the target: the rule has work to do
    assert abs(b["rate_hz"] - rate) <= 0.05 * rate
    assert abs(b["mean_w_final"] - W.mean()) <= 0.05 * W.mean()
    assert W.mean() > 0.2  # the weights moved from 0.1
