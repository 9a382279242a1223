"""A project style lock the prompt tests share (its seed must never reach the prompt text)."""

from broll_common.prompts import StyleLock

NEWS_STYLE = StyleLock(
    look="documentary news B-roll",
    colour="cool teal-and-amber grade",
    lens="35mm, shallow depth of field",
    era="present day",
    seed=4242,
)
