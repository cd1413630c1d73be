"""The guardrail's pure parts, without LiteLLM: python3 -m unittest discover Integrations/litellm-guardrail/tests"""
import os
import sys
import types
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from distillwatch_litellm.guardrail import InlineReasoningFilter, identity_of, strip_inline_reasoning  # noqa: E402


class InlineReasoningFilterTests(unittest.TestCase):
    def test_whole_text(self):
        self.assertEqual(strip_inline_reasoning("<think>a b</think>The answer."), ("The answer.", "a b"))
        self.assertEqual(strip_inline_reasoning("no tags < here"), ("no tags < here", ""))
        self.assertEqual(strip_inline_reasoning("x <THINKING>y</thinking> z"), ("x  z", "y"))

    def test_tags_split_across_every_chunk_boundary(self):
        text = "Intro <think>step one, step two</think>The answer is 391. <reasoning>more</reasoning>Done <b>"
        for size in range(1, len(text) + 1):
            f = InlineReasoningFilter()
            out = "".join(f.feed(text[i:i + size]) for i in range(0, len(text), size)) + f.finish()
            self.assertEqual(out, "Intro The answer is 391. Done <b>", f"chunks of {size}")
            self.assertEqual(f.reasoning, "step one, step twomore", f"chunks of {size}")

    def test_an_unclosed_block_runs_to_the_end(self):
        f = InlineReasoningFilter()
        self.assertEqual(f.feed("ok <think>cut at max_to") + f.finish(), "ok ")
        self.assertEqual(f.reasoning, "cut at max_to")


class IdentityTests(unittest.TestCase):
    def test_first_real_value_wins_and_placeholders_fall_through(self):
        key = types.SimpleNamespace(org_id=None, team_id="", user_id="default_user_id", key_alias=None,
                                    token="hash-of-master", end_user_id=None)
        self.assertEqual(identity_of(key, {"user": "acct-9"}, placeholders=["hash-of-master"]), "acct-9")
        self.assertEqual(identity_of(key, {"user": "acct-9"}), "hash-of-master")
        self.assertIsNone(identity_of(types.SimpleNamespace(), {}))
        team = types.SimpleNamespace(team_id=4021)
        self.assertEqual(identity_of(team, {}), "4021")


if __name__ == "__main__":
    unittest.main()
