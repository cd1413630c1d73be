"""DistillWatch countermeasures inside a LiteLLM proxy.

``DistillWatchGuardrail`` is a LiteLLM custom guardrail (``CustomGuardrail``) that asks
DistillWatch's ``POST /v1/decide`` before each request and applies the directives it
returns (Documentation/Countermeasures.md in the DistillWatch repository):

==========================  =====================================================================
directive                   what the guardrail does
==========================  =====================================================================
block                       refuses the request (403)
require_verification        refuses with DistillWatch's verification message (403)
deny_prefill                refuses a request whose last message is the assistant's (403)
rate_limit                  DistillWatch counts the request; over the limit, 429 + Retry-After
cap_max_tokens              lowers ``max_tokens`` / ``max_completion_tokens`` to the cap
disable_thinking            removes ``thinking`` and ``reasoning_effort`` from the request
withhold_reasoning          removes ``reasoning_content``, thinking blocks and inline
                            ``<think>`` blocks from the answer, streaming and not
summarize_reasoning         replaces the reasoning with DistillWatch's summary
                            (``POST /v1/reasoning``: the provider's summariser, or a notice)
==========================  =====================================================================

The reasoning tokens not served are reported to DistillWatch (``POST /v1/reasoning``),
which counts them per campaign in ``distillwatch_reasoning_withheld_tokens_total``.
"""

from .guardrail import DistillWatchGuardrail, InlineReasoningFilter, identity_of

__all__ = ["DistillWatchGuardrail", "InlineReasoningFilter", "identity_of"]
__version__ = "0.1.0"
