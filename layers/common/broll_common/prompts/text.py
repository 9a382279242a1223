"""Small English-text helpers the scrubber and both composers share: articles, sentences, word limits."""

from __future__ import annotations


def article(noun: str) -> str:
    return ("an " if noun[:1].lower() in "aeiou" else "a ") + noun


def sentence(text: str) -> str:
    text = text.strip().rstrip(",;:-– ")
    if not text:
        return ""
    text = text[0].upper() + text[1:]
    return text if text[-1] in ".!?" else text + "."


def trim_words(text: str, limit: int) -> str:
    words = text.split()
    if len(words) <= limit:
        return text
    return " ".join(words[:limit]).rstrip(",;:") + "."
