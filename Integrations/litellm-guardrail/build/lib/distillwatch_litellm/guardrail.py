"""The guardrail: see the package docstring for what each directive does.

Hooks (LiteLLM 1.106.2, ``litellm.integrations.custom_guardrail.CustomGuardrail``):

* ``async_pre_call_hook``: asks ``/v1/decide`` with the account (the first real identity of
  ``account_fields``, as DistillWatch's own LiteLLM identity mapping), the key hash, the
  call id and the request's facts (prefill, max_tokens, thinking); refuses by raising
  ``fastapi.HTTPException`` with an OpenAI-style error body, or rewrites the request;
  keeps the directives in ``data["metadata"]["distillwatch"]`` for the answer.
* ``async_post_call_success_hook``: a non-streaming answer's reasoning.
* ``async_post_call_streaming_iterator_hook``: a streamed answer's reasoning, chunk by chunk.
"""

from __future__ import annotations

import logging
import os
from typing import Any, AsyncGenerator, Iterable, Optional

import httpx

try:  # Inside the proxy.
    from fastapi import HTTPException
    from litellm.integrations.custom_guardrail import CustomGuardrail
except ImportError:  # pragma: no cover - only the pure helpers are usable without LiteLLM
    CustomGuardrail = object  # type: ignore[assignment,misc]
    HTTPException = None  # type: ignore[assignment]

log = logging.getLogger("distillwatch_litellm")

DEFAULT_ACCOUNT_FIELDS = ("org_id", "team_id", "user_id", "key_alias", "key_hash", "end_user_id")
# LiteLLM's placeholder identities (master-key traffic), never an account.
PLACEHOLDERS = {"default_user_id", "litellm_proxy_master_key"}
METADATA_KEY = "distillwatch"
REASONING_TAGS = ("think", "thinking", "reasoning")


def _secret(value: Optional[str]) -> Optional[str]:
    """``os.environ/NAME`` as LiteLLM's configuration writes secrets."""
    if value and value.startswith("os.environ/"):
        return os.environ.get(value[len("os.environ/"):])
    return value


def identity_of(user_api_key_dict: Any, data: dict, fields: Iterable[str] = DEFAULT_ACCOUNT_FIELDS,
                placeholders: Iterable[str] = ()) -> Optional[str]:
    """The account a request belongs to: the first field of ``fields`` holding a real value
    (not empty, not a LiteLLM placeholder nor one of ``placeholders``), as
    ``litellm_account_fields`` and ``litellm_placeholder_ids`` do in DistillWatch."""
    never = PLACEHOLDERS | set(placeholders)
    values = {
        "org_id": getattr(user_api_key_dict, "org_id", None),
        "team_id": getattr(user_api_key_dict, "team_id", None),
        "user_id": getattr(user_api_key_dict, "user_id", None),
        "key_alias": getattr(user_api_key_dict, "key_alias", None),
        "key_hash": getattr(user_api_key_dict, "token", None) or getattr(user_api_key_dict, "api_key", None),
        "end_user_id": getattr(user_api_key_dict, "end_user_id", None) or data.get("user"),
    }
    for field in fields:
        value = values.get(field)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            value = str(value)
        if isinstance(value, str) and value and value not in never:
            return value
    return None


class InlineReasoningFilter:
    """Removes ``<think>…</think>`` (and ``<thinking>``, ``<reasoning>``) blocks from text
    that arrives in pieces: a tag split across two chunks is held back until it is whole.
    ``feed`` returns the visible text and collects the reasoning in ``reasoning``."""

    def __init__(self) -> None:
        self.inside: Optional[str] = None
        self.pending = ""
        self.reasoning_parts: list[str] = []

    @property
    def reasoning(self) -> str:
        return "".join(self.reasoning_parts).strip()

    def feed(self, text: str) -> str:
        buf = self.pending + text
        self.pending = ""
        out: list[str] = []
        while buf:
            lower = buf.lower()
            if self.inside is None:
                found = [(lower.find("<" + t + ">"), t) for t in REASONING_TAGS]
                found = [(i, t) for i, t in found if i >= 0]
                if found:
                    i, tag = min(found)
                    out.append(buf[:i])
                    buf = buf[i + len(tag) + 2:]
                    self.inside = tag
                    continue
                # Hold back a possible start of a tag at the end.
                cut = buf.rfind("<")
                if cut >= 0 and any(("<" + t + ">").startswith(lower[cut:]) for t in REASONING_TAGS):
                    out.append(buf[:cut])
                    self.pending = buf[cut:]
                else:
                    out.append(buf)
                buf = ""
            else:
                close = "</" + self.inside + ">"
                j = lower.find(close)
                if j >= 0:
                    self.reasoning_parts.append(buf[:j])
                    buf = buf[j + len(close):]
                    self.inside = None
                    continue
                cut = buf.rfind("<")
                if cut >= 0 and close.startswith(lower[cut:]):
                    self.reasoning_parts.append(buf[:cut])
                    self.pending = buf[cut:]
                else:
                    self.reasoning_parts.append(buf)
                buf = ""
        return "".join(out)

    def finish(self) -> str:
        """What was held back at the end of the stream (an incomplete tag outside reasoning)."""
        rest, self.pending = self.pending, ""
        if self.inside is None:
            return rest
        self.reasoning_parts.append(rest)
        return ""


def strip_inline_reasoning(text: str) -> tuple[str, str]:
    """``(visible text, reasoning)`` of a whole text."""
    f = InlineReasoningFilter()
    visible = f.feed(text) + f.finish()
    return visible, f.reasoning


class DistillWatchGuardrail(CustomGuardrail):  # type: ignore[misc,valid-type]
    """See the module docstring. Settings (``litellm_params`` in LiteLLM's config.yaml):

    * ``api_base``: DistillWatch's address (``http://127.0.0.1:8080``).
    * ``api_key``: a DistillWatch token with the ``decide`` role (``os.environ/NAME`` works).
    * ``account_fields``: identity fields in order of preference (default org_id, team_id,
      user_id, key_alias, key_hash, end_user_id).
    * ``placeholder_ids``: identity values that never name an account, besides LiteLLM's
      own placeholders (e.g. the master key's hash).
    * ``timeout``: seconds to wait for DistillWatch (default 2).
    * ``unreachable_fallback``: ``fail_closed`` (default: refuse with 503, as LiteLLM's own
      generic guardrail does) or ``fail_open`` (serve unchanged) when DistillWatch cannot
      answer.
    """

    def __init__(self, api_base: Optional[str] = None, api_key: Optional[str] = None,
                 account_fields: Optional[Iterable[str]] = None, placeholder_ids: Optional[Iterable[str]] = None,
                 timeout: float = 2.0,
                 unreachable_fallback: str = "fail_closed", **kwargs: Any) -> None:
        self.api_base = (_secret(api_base) or os.environ.get("DISTILLWATCH_API_BASE") or "").rstrip("/")
        if not self.api_base:
            raise ValueError("distillwatch_litellm: api_base is required (DistillWatch's address, e.g. http://127.0.0.1:8080)")
        self.api_key = _secret(api_key) or os.environ.get("DISTILLWATCH_API_KEY")
        if not self.api_key:
            raise ValueError("distillwatch_litellm: api_key is required (a DistillWatch token with the decide role)")
        self.account_fields = tuple(account_fields or DEFAULT_ACCOUNT_FIELDS)
        unknown = set(self.account_fields) - set(DEFAULT_ACCOUNT_FIELDS)
        if unknown:
            raise ValueError(f"distillwatch_litellm: unknown account_fields {sorted(unknown)}; known: {list(DEFAULT_ACCOUNT_FIELDS)}")
        if unreachable_fallback not in ("fail_closed", "fail_open"):
            raise ValueError("distillwatch_litellm: unreachable_fallback must be fail_closed or fail_open")
        self.unreachable_fallback = unreachable_fallback
        self.placeholder_ids = frozenset(placeholder_ids or ())
        self.timeout = float(timeout)
        self._client = httpx.AsyncClient(timeout=self.timeout)
        kwargs.pop("guardrail", None)
        super().__init__(**kwargs)

    # -- DistillWatch calls ---------------------------------------------------------------

    async def _post(self, path: str, body: dict) -> dict:
        r = await self._client.post(self.api_base + path, json=body,
                                    headers={"Authorization": "Bearer " + self.api_key})
        if r.status_code != 200:
            raise RuntimeError(f"DistillWatch {path}: HTTP {r.status_code}: {r.text[:200]}")
        return r.json()

    def _refuse(self, status: int, message: str, code: str, headers: Optional[dict] = None) -> None:
        raise HTTPException(status_code=status, headers=headers,
                            detail={"error": {"message": message, "type": "distillwatch_" + code, "code": code}})

    # -- before the model -----------------------------------------------------------------

    async def async_pre_call_hook(self, user_api_key_dict: Any, cache: Any, data: dict, call_type: str) -> Optional[dict]:
        account = identity_of(user_api_key_dict, data, self.account_fields, self.placeholder_ids)
        if account is None:
            return data
        messages = data.get("messages") or []
        prefill = bool(messages) and isinstance(messages[-1], dict) and messages[-1].get("role") == "assistant"
        max_tokens = data.get("max_tokens") or data.get("max_completion_tokens")
        thinking = bool(data.get("thinking")) or data.get("reasoning_effort") not in (None, "none", "minimal")
        ask = {"account_id": account, "request_id": data.get("litellm_call_id"), "model": data.get("model"),
               "prefill": prefill, "thinking": thinking}
        key_hash = getattr(user_api_key_dict, "token", None)
        if key_hash and key_hash not in PLACEHOLDERS and key_hash not in self.placeholder_ids and key_hash != account:
            ask["api_key_id"] = key_hash
        if isinstance(max_tokens, int) and max_tokens >= 0:
            ask["max_tokens"] = max_tokens
        try:
            answer = await self._post("/v1/decide", ask)
        except Exception as error:  # noqa: BLE001 - any failure to get an answer
            log.warning("DistillWatch did not answer for %s: %s", account, error)
            if self.unreachable_fallback == "fail_open":
                return data
            self._refuse(503, "DistillWatch, the provider's abuse check, is unavailable; retry shortly", "unavailable")
        refusal = answer.get("refusal")
        if refusal:
            headers = {"Retry-After": str(refusal["retry_after_s"])} if refusal.get("retry_after_s") else None
            self._refuse(int(refusal.get("status", 403)), refusal.get("message", "refused"), refusal.get("code", "refused"), headers)
        directives = {d["directive"]: d for d in answer.get("directives") or []}
        if not directives:
            return data
        cap = directives.get("cap_max_tokens", {}).get("max_tokens")
        if isinstance(cap, int):
            for field in ("max_tokens", "max_completion_tokens"):
                if isinstance(data.get(field), int) and data[field] > cap:
                    data[field] = cap
            if not isinstance(data.get("max_tokens"), int) and not isinstance(data.get("max_completion_tokens"), int):
                data["max_tokens"] = cap
        if "disable_thinking" in directives:
            data.pop("thinking", None)
            data.pop("reasoning_effort", None)
        treatment = "withhold" if "withhold_reasoning" in directives else "summarize" if "summarize_reasoning" in directives else None
        metadata = data.setdefault("metadata", {})
        if isinstance(metadata, dict):
            metadata[METADATA_KEY] = {"account_id": account, "treatment": treatment,
                                      "directives": sorted(directives)}
        return data

    # -- after the model ------------------------------------------------------------------

    @staticmethod
    def _state(data: Optional[dict]) -> Optional[dict]:
        metadata = (data or {}).get("metadata") or {}
        state = metadata.get(METADATA_KEY) if isinstance(metadata, dict) else None
        return state if state and state.get("treatment") else None

    async def _replacement(self, state: dict, reasoning: str, tokens: Optional[int], request_id: Optional[str]) -> str:
        """The text that stands for the reasoning: empty when withheld, DistillWatch's summary
        or notice when summarised. Reports the tokens not served either way."""
        body = {"account_id": state["account_id"], "treatment": state["treatment"], "request_id": request_id}
        if tokens is not None:
            body["reasoning_tokens"] = max(0, int(tokens))
        if state["treatment"] == "summarize":
            body["reasoning"] = reasoning
        try:
            answer = await self._post("/v1/reasoning", body)
            return answer.get("text", "") if state["treatment"] == "summarize" else ""
        except Exception as error:  # noqa: BLE001
            log.warning("DistillWatch /v1/reasoning failed: %s", error)
            return "" if state["treatment"] == "withhold" else \
                "[Reasoning not shown: the provider serves a summary of the reasoning for this account, and the summary could not be made.]"

    @staticmethod
    def _reasoning_tokens(usage: Any) -> Optional[int]:
        details = getattr(usage, "completion_tokens_details", None) if usage is not None else None
        value = getattr(details, "reasoning_tokens", None) if details is not None else None
        return value if isinstance(value, int) else None

    async def async_post_call_success_hook(self, data: dict, user_api_key_dict: Any, response: Any) -> Any:
        state = self._state(data)
        choices = getattr(response, "choices", None)
        if state is None or not choices:
            return response
        collected: list[str] = []
        for choice in choices:
            message = getattr(choice, "message", None)
            if message is None:
                continue
            r = getattr(message, "reasoning_content", None)
            if r:
                collected.append(r)
            blocks = getattr(message, "thinking_blocks", None)
            for b in blocks or []:
                t = b.get("thinking") if isinstance(b, dict) else getattr(b, "thinking", None)
                if t:
                    collected.append(t)
            content = getattr(message, "content", None)
            if isinstance(content, str):
                visible, inline = strip_inline_reasoning(content)
                if inline:
                    collected.append(inline)
                    message.content = visible
            _clear_reasoning(message)
        if not collected:
            return response
        reasoning = "\n\n".join(collected)
        tokens = self._reasoning_tokens(getattr(response, "usage", None))
        text = await self._replacement(state, reasoning, tokens if tokens is not None else (len(reasoning.encode()) + 3) // 4,
                                       data.get("litellm_call_id"))
        if text:
            for choice in choices:
                message = getattr(choice, "message", None)
                if message is not None:
                    _set_reasoning(message, text)
                    break
        return response

    async def async_post_call_streaming_iterator_hook(self, user_api_key_dict: Any, response: Any,
                                                      request_data: dict) -> AsyncGenerator[Any, None]:
        state = self._state(request_data)
        if state is None:
            async for item in response:
                yield item
            return
        filters: dict[int, InlineReasoningFilter] = {}
        collected: list[str] = []
        reasoning_tokens: Optional[int] = None
        summary_sent = False
        last = None
        async for chunk in response:
            last = chunk
            tokens = self._reasoning_tokens(getattr(chunk, "usage", None))
            if tokens is not None:
                reasoning_tokens = tokens
            visible_started = False
            for choice in getattr(chunk, "choices", None) or []:
                delta = getattr(choice, "delta", None)
                if delta is None:
                    continue
                r = getattr(delta, "reasoning_content", None)
                if r:
                    collected.append(r)
                for b in getattr(delta, "thinking_blocks", None) or []:
                    t = b.get("thinking") if isinstance(b, dict) else getattr(b, "thinking", None)
                    if t:
                        collected.append(t)
                _clear_reasoning(delta)
                content = getattr(delta, "content", None)
                if isinstance(content, str) and content:
                    f = filters.setdefault(getattr(choice, "index", 0) or 0, InlineReasoningFilter())
                    delta.content = f.feed(content)
                    if delta.content:
                        visible_started = True
                if getattr(choice, "finish_reason", None):
                    f = filters.get(getattr(choice, "index", 0) or 0)
                    if f is not None:
                        delta.content = (delta.content or "") + f.finish()
                    visible_started = True
            if (state["treatment"] == "summarize" and not summary_sent and visible_started
                    and (collected or any(f.reasoning for f in filters.values()))):
                # The summary goes out as reasoning just before the first visible text.
                summary_sent = True
                yield await self._summary_chunk(state, chunk, collected, filters, reasoning_tokens, request_data)
            yield chunk
        reasoning = "\n\n".join(collected + [f.reasoning for f in filters.values() if f.reasoning])
        if reasoning and state["treatment"] == "withhold":
            await self._replacement(state, reasoning, reasoning_tokens if reasoning_tokens is not None
                                    else (len(reasoning.encode()) + 3) // 4, request_data.get("litellm_call_id"))

    async def _summary_chunk(self, state: dict, template: Any, collected: list[str],
                             filters: dict[int, InlineReasoningFilter], tokens: Optional[int], request_data: dict) -> Any:
        reasoning = "\n\n".join(collected + [f.reasoning for f in filters.values() if f.reasoning])
        text = await self._replacement(state, reasoning, tokens if tokens is not None else (len(reasoning.encode()) + 3) // 4,
                                       request_data.get("litellm_call_id"))
        chunk = template.model_copy(deep=True)
        for i, choice in enumerate(chunk.choices):
            choice.finish_reason = None
            delta = choice.delta
            delta.content = None
            delta.tool_calls = None
            _set_reasoning(delta, text if i == 0 else None)
        return chunk


def _clear_reasoning(obj: Any) -> None:
    for name in ("reasoning_content", "thinking_blocks", "reasoning"):
        if getattr(obj, name, None) is not None:
            try:
                setattr(obj, name, None)
            except (AttributeError, ValueError):
                pass
    extra = getattr(obj, "provider_specific_fields", None)
    if isinstance(extra, dict):
        for name in ("reasoning_content", "thinking_blocks", "reasoning"):
            extra.pop(name, None)


def _set_reasoning(obj: Any, text: Optional[str]) -> None:
    try:
        setattr(obj, "reasoning_content", text)
    except (AttributeError, ValueError):
        pass
