"""Prompt attacks: injection and jailbreak heuristics on prompts, and the system-prompt-leak check on responses.

**On prompts** (``INPUT``) each rule of :data:`RULES` is a regular expression over a normalised view of the text
(Unicode NFKC, lower case, zero-width characters removed, Cyrillic and Greek look-alike letters read as Latin, runs
of whitespace made one space) with a weight in (0, 1]. The rules cover instruction override (``ignore all previous
instructions``), role play and jailbreak personas (``you are DAN``, ``pretend you have no restrictions``, developer
mode), system-prompt extraction (``print your system prompt``, ``repeat the words above``), fake role delimiters
(``<|im_start|>system``), attempts to switch safety off, and data exfiltration. Encoding tricks are read through:
the rules also run over the text with leetspeak undone (``1gn0r3 pr3v10us``), over the content of base64, hex and
percent-encoded runs, and over the ROT13 reading of the text; a rule found only in such a view adds the matching
``encoding.*`` rule (``encoding.leetspeak``, ``encoding.base64``, ``encoding.rot13``, ``encoding.zero_width``,
``encoding.homoglyph``, ...).

The score is the noisy-or of the matched rules' weights (``1 - prod(1 - w)``), in [0, 1]; a prompt scoring at least
the policy's ``threshold`` (0.5 by default) is an attack (type ``PROMPT_ATTACK``, kind ``filters``, ``detail``
holding the matched rule ids). The weights were set on the rules' own merits and checked on the labelled sets in
benchmarks/data (docs/guardrails.md gives the measured rates and the known limits: a heuristic sees phrasings, not
intent; on prompts written after the rules were settled it catches about half of the attacks).

**On responses** (``OUTPUT``) with ``system_prompt`` set, a response that repeats a run of at least
``leak_min_words`` words of the system prompt verbatim (or the whole of a shorter one; case, punctuation and
whitespace ignored) leaks it (type ``PROMPT_LEAK``); the score is the share of the system prompt's words repeated.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import re
import unicodedata
import urllib.parse
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

import ahocorasick_rs

from assay.genai.guard import Context, Finding, Request
from assay.genai.policy import GuardPolicy

__all__ = ["RULES", "AttackCheck", "AttackScore", "Rule", "build", "leak", "normalise", "score_prompt"]


@dataclass(frozen=True)
class Rule:
    id: str
    weight: float
    pattern: re.Pattern[str]
    description: str


def _rule(rule_id: str, weight: float, pattern: str, description: str) -> Rule:
    return Rule(rule_id, weight, re.compile(pattern), description)


_PRIOR = (
    r"(?:previous|prior|above|earlier|preceding|former|original|initial|system|system's|developers?'?s?|hidden|"
    r"all(?: of)?"
    r"(?: the| your| my)?|your|any(?: of)?(?: the| your)?|these|those|every)"
)
_ORDERS = (
    r"(?:instructions?|prompts?|rules|directions|guidelines|directives?|commands|programming|guardrails|constraints"
    r"|restrictions|polic(?:y|ies)|training|context|orders|messages|guidance|setup|configuration|briefing)"
)
_FREE = (
    r"(?:unfiltered|uncensored|unrestricted|unlimited|unbound|jailbroken|amoral|immoral|unethical|evil|rogue|"
    r"without (?:any )?(?:rules|restrictions|filters|limits|limitations|guidelines|ethics|morals)|"
    r"no (?:rules|restrictions|filters|limits|limitations|guidelines|ethics|morals|boundaries|policies|guardrails)|"
    r"zero (?:limitations|limits|rules|restrictions|filters)|(?:doesn't|does not|don't|do not|never) (?:follow|obey|"
    r"respect|care about) (?:any |the |its |your |\w+'s )?(?:content )?(?:polic(?:y|ies)|rules|guidelines)|"
    r"not bound by (?:any )?(?:rules|restrictions|guidelines|"
    r"content polic(?:y|ies))|never (?:given|had) any (?:safety|rules|restrictions))"
)
_SHOW = (
    r"(?:reveal|show|print|display|output|repeat|recite|reproduce|dump|leak|share|expose|give me|tell me|write out|"
    r"copy|paste|spell out|list|translate|summari[sz]e|paraphrase|what (?:is|are|was|were)|what does)"
)
_ASK = _SHOW.replace("|what (?:is|are|was|were)|what does)", ")")  # verbs that ask for it whoever's it is

#: The heuristics, each with its weight (see the module's docstring).
RULES: Final[tuple[Rule, ...]] = (
    _rule(
        "override.ignore_previous",
        0.9,
        rf"\b(?:ignore|disregard|forget|skip|override|overrule|bypass|drop|abandon|neglect|set aside|throw out|"
        rf"discard|stop following|do not follow|don't follow|erase|delete|wipe|clear|reset|revoke|cancel)\b"
        rf"(?: \w+){{0,3}}? {_PRIOR}(?: \w+)?? {_ORDERS}\b",
        "an instruction to set the previous instructions aside",
    ),
    _rule(
        "override.told_before",
        0.75,
        r"\b(?:everything|all|anything|whatever) (?:that )?you (?:were|have been|'ve been) (?:told|given|taught|"
        r"instructed)(?: \w+)? (?:before|earlier|previously|so far|until now)\b|\b(?:ignore|disregard|forget|"
        r"override|overriding|overrule)\b (?:\w+ ){0,2}?(?:what|whatever|everything|anything) (?:the \w+|your \w+|"
        r"they|you were|you've been|you have been|you got) (?:told|said|gave|instructed|taught|given)",
        "sets aside what the assistant was told before",
    ),
    _rule(
        "override.void",
        0.8,
        r"\b(?:previous|prior|earlier|old|original|above|system|your|those|the) (?:\w+ )?(?:instructions?|rules|"
        r"guidelines|directives|setup|constraints|policies|restrictions)\b[^.!?\n]{0,20}\b(?:no longer apply|are "
        r"void|is void|are gone|(?:are|is|was|were) cancell?ed|don't apply|do not apply|don't count|doesn't count|"
        r"are lifted|have been lifted|didn't exist|don't exist|never existed|were never written|(?:have been |are |"
        r"were )?(?:revoked|rescinded|outdated|obsolete|suspended|withdrawn|optional|deleted|removed|invalid|"
        r"superseded)\b|(?:don't|do not|no longer) apply to you)|\beverything (?:above|before) (?:this (?:line|"
        r"message|point) )?(?:is|was) (?:outdated|void|obsolete|cancell?ed|irrelevant|invalid|fake|a test)\b",
        "declares the previous instructions void",
    ),
    _rule(
        "override.new_instructions",
        0.5,
        r"\b(?:new|updated|real|actual|true|revised|secret|override) (?:instructions?|rules|task|directives?|orders)"
        r"(?: for you)? ?(?::|are\b|is\b|follow)|\byour (?:one and only|only|new|sole|real) (?:rule|task|job|"
        r"instruction|purpose|directive)s? (?:now |from now on )?(?:is|are|:)",
        "announces new instructions that replace the old",
    ),
    _rule(
        "override.from_now_on",
        0.35,
        r"\b(?:from now on|from this point(?: on| forward)?|for the rest of this conversation|henceforth),? "
        r"(?:you|your|act|respond|answer|reply|always|never)\b",
        "redefines the assistant's behaviour for the rest of the conversation",
    ),
    _rule(
        "override.priority",
        0.4,
        r"\b(?:this|these|my) (?:instructions?|message|prompt|rules?) (?:override|overrides|supersedes?|"
        r"takes? precedence|replaces?)\b|\bhighest priority instruction\b",
        "claims priority over the system's instructions",
    ),
    _rule(
        "jailbreak.dan",
        0.9,
        r"\bdo anything now\b|\b(?:you are|you're|act as|be|become|pretend to be|as) (?:now )?(?:a |an )?"
        r"(?:dan|stan|dude|aim|evil ?bot|anti-?gpt|betterdan|maximum|developer mode gpt)\b|\b(?:dan|stan) mode\b|"
        r"\bdan\b[^.!?\n]{0,40}\balways\b|\bpersonas?\b[^.!?\n]{0,60}\bdan\b",
        "a known jailbreak persona (DAN and its kin)",
    ),
    _rule(
        "jailbreak.word",
        0.45,
        r"\bjailbr(?:ea|o)k(?:en|ed|ing)?\b",
        "talks of jailbreaking (also said of phones: weighted below the threshold alone)",
    ),
    _rule(
        "roleplay.unrestricted_persona",
        0.8,
        rf"\b(?:pretend|imagine|act|behave|roleplay|role-play|role play|play the role|simulate|you are|you're|"
        rf"you will be|become|as if|as though|like a|the way you would)\b[^.!?\n]{{0,80}}\b{_FREE}",
        "a role without rules, filters or ethics",
    ),
    _rule(
        "roleplay.no_longer_assistant",
        0.6,
        r"\byou are no longer (?:an? )?(?:ai|assistant|chatbot|language model|bound|restricted|limited)|"
        r"\b(?:you have been|you are now|you're now) (?:freed|liberated|released|unshackled|unchained)\b|"
        r"\b(?:freed|liberated|released|unshackled|unchained) (?:of|from) (?:all )?(?:its |your |their )?(?:filters|"
        r"rules|restrictions|constraints|guidelines|limits|shackles|chains)\b",
        "tells the assistant it is no longer itself",
    ),
    _rule(
        "roleplay.never_refuse",
        0.5,
        r"\b(?:never|do not|don't|must not|cannot|can't|will not|won't) (?:ever )?(?:refuses?|declines?|say no|"
        r"apologi[sz]es?|warns?|add (?:any )?(?:warnings?|disclaimers?))\b",
        "forbids refusals or warnings",
    ),
    _rule(
        "roleplay.stay_in_character",
        0.3,
        r"\bstay in character\b|\bnever break character\b|\bdon't break character\b",
        "holds the assistant to a role (also said in harmless role play: weighted below the threshold alone)",
    ),
    _rule(
        "mode.privileged",
        0.6,
        r"\b(?:enable|activate|enter|switch to|turn on|unlock|boot into)\b(?: \w+)? (?:developer|debug|god|admin|"
        r"sudo|root|maintenance|unrestricted|dev) mode\b|[\"'“]developer mode[\"'”]|"
        r"\b(?:developer|god|sudo|dev) mode (?:is )?(?:enabled|"
        r"activated|unlocked)\b|\b(?:developer|god|sudo|dev) mode on(?=[.!:,;]|$)|\b(?:you are|you're) (?:now )?in "
        r"(?:developer|maintenance|debug|god|sudo|admin) mode\b|\bsafety (?:is )?(?:off|disabled)\b",
        "claims a privileged mode",
    ),
    _rule(
        "safety.disable",
        0.7,
        r"\b(?:bypass|disable|turn off|switch off|ignore|circumvent|override|deactivate|remove|evade|get around)\b"
        r"(?: \w+){0,2}? (?:your |the |all |any |its )?(?:safety|content|ethical|moderation|security)? ?(?:filters?|"
        r"guidelines|protocols|guardrails|safeguards|restrictions|censorship|moderation|alignment|polic(?:y|ies))\b",
        "asks to switch safety measures off",
    ),
    _rule(
        "safety.no_restrictions",
        0.35,
        r"\b(?:without|free (?:of|from)|not bound by|no longer bound by|unbound by|ignoring) (?:any |all |your )?"
        r"(?:restrictions|limitations|filters|censorship|ethical (?:guidelines|constraints)|moral constraints|"
        r"content polic(?:y|ies)|safety guidelines|rules)\b",
        "asks for an answer free of restrictions (also said of diets: weighted below the threshold alone)",
    ),
    _rule(
        "safety.uncensored",
        0.45,
        r"\bwithout (?:any )?(?:censorship|filtering|content filters?)\b|\buncensored\b|\bunfiltered\b|"
        r"\bno (?:censorship|filtering)\b",
        "asks for unfiltered output (also said of coffee: weighted below the threshold alone)",
    ),
    _rule(
        "extraction.system_prompt",
        0.8,
        rf"(?:\b{_SHOW}\b[^.?!\n]{{0,40}}\b(?:your|its)|\b{_ASK}\b[^.?!\n]{{0,40}}\b(?:the|this|my|our)) (?:full |"
        rf"entire |complete |exact |original |initial |hidden |secret |whole )?(?:system (?:prompt|message|"
        rf"instructions?)|initial (?:prompt|instructions?)|original (?:prompt|instructions?)|hidden (?:prompt|"
        rf"instructions?)|pre-?prompt|developer (?:message|prompt|instructions?)|(?:configuration|config) prompt)\b|"
        rf"\byour (?:full |whole |entire |hidden |secret |original |initial |exact |complete )+(?:prompt|"
        rf"configuration|setup)\b",
        "asks for the system prompt",
    ),
    _rule(
        "extraction.your_instructions",
        0.65,
        rf"\b{_SHOW}\b[^.?!\n]{{0,30}}\byour (?:exact |full |original |secret |hidden |first |initial )?"
        rf"(?:instructions|rules|guidelines|directives)(?: (?:you were|you've been|you have been) (?:given|told))?",
        "asks for the assistant's own instructions",
    ),
    _rule(
        "extraction.hidden_instructions",
        0.6,
        r"\b(?:confidential|secret|hidden|internal|private) (?:instructions|prompt|rules|guidelines|directives)\b|"
        r"\b(?:what|which) (?:instructions|rules|directives|guidelines) (?:were|have) you (?:been )?(?:given|told)\b|"
        r"\b(?:the )?(?:rules|instructions|guidelines) you (?:follow|obey|were given)\b[^.?!\n]{0,20}\b(?:word for "
        r"word|verbatim|exactly|in full)",
        "asks about instructions kept from the user",
    ),
    _rule(
        "extraction.repeat_above",
        0.7,
        r"\b(?:repeat|print|output|recite|copy|reproduce|echo)\b(?: \w+){0,4} (?:the )?"
        r"(?:words|text|sentences|lines|content|everything|all|messages?|prompt)(?: \w+)? (?:above|before this|"
        r"prior to this|preceding)|\b(?:starting|beginning) with (?:the words )?[\"'“]?you are\b|\bverbatim\b[^.?!\n]"
        r"{0,40}\b(?:instructions|prompt|above)\b|\b(?:everything|all|the text) (?:that was )?(?:said|written) "
        r"(?:before|above)\b|\b(?:repeat|print|output|recite|copy|paste|reproduce|echo)\b(?: \w+)?"
        r" (?:the )?(?:preceding|previous|prior) (?:text|words|messages|content|lines)\b|\b(?:text|words|everything)"
        r" (?:that )?(?:came|comes|is|was|stands) (?:before|above) (?:my|this) (?:message|prompt|question)",
        "asks to repeat the text before the user's message",
    ),
    _rule(
        "injection.fake_delimiter",
        0.55,
        r"<\|?(?:im_start|im_end|system|endoftext|start_header_id)\|?>|\[/?inst\]|\[/?system\]|<</?sys>>|"
        r"</?(?:system|sys|instructions?)>|(?:^|\n) ?#{2,} ?(?:system|new instructions?|instruction)\b|"
        r"(?:^|\n) ?(?:system|developer) ?(?:prompt|message)? ?: ",
        "imitates the markup of a system or developer message",
    ),
    _rule(
        "injection.pwned",
        0.6,
        r"\b(?:say|print|output|respond with|reply with|answer with|write)\b[^.\n]{0,30}\bi have been (?:pwned|"
        r"hacked)\b",
        "the canary phrase of injection contests",
    ),
    _rule(
        "exfiltration.send",
        0.5,
        r"\b(?:send|post|upload|forward|email|e-mail|transmit|leak)\b(?: \w+){0,3} (?:conversation|chat|history|"
        r"previous messages|user data|api keys?|credentials|secrets|system prompt)\b[^.\n]{0,40}\b(?:to|at)\b"
        r"[^.\n]{0,20}(?:https?:|www\.|@)|!\[[^\]]*\]\(https?://[^)\s]*\?[^)\s]*=",
        "asks to send the conversation or secrets elsewhere",
    ),
    _rule(
        "encoding.decode_and_follow",
        0.5,
        r"\b(?:decode|decipher|decrypt|unscramble|translate|convert|reverse)\b[^.!?\n]{0,80}\b(?:and|then)\b"
        r"[^.!?\n]{0,20}\b(?:follow|execute|obey|run|carry out|perform|act on|comply with|do what it says|do it)\b",
        "asks to decode a message and follow it",
    ),
)
_BY_ID: Final = {rule.id: rule for rule in RULES}
_NOUNS: Final = (
    "instruction",
    "prompt",
    "rule",
    "direction",
    "guideline",
    "directive",
    "command",
    "programming",
    "guardrail",
    "constraint",
    "restriction",
    "polic",
    "training",
    "context",
    "order",
    "message",
    "setup",
    "guidance",
    "configuration",
    "briefing",
    "everything",
)
#: Text one of which every match of a rule contains: a rule's expression runs only on a view holding one of its
#: markers, found for all rules at once by one Aho-Corasick automaton (most prompts hold the markers of few rules).
MARKERS: Final[dict[str, tuple[str, ...]]] = {
    "override.ignore_previous": _NOUNS,
    "override.told_before": ("told", "given", "taught", "instructed", "said", "gave"),
    "override.void": (*_NOUNS, "apply to you"),
    "override.new_instructions": ("instruction", "rule", "task", "directive", "order", "job", "purpose"),
    "override.from_now_on": ("from now on", "from this point", "rest of this conversation", "henceforth"),
    "override.priority": ("overrid", "supersede", "precedence", "replace", "highest priority"),
    "jailbreak.dan": ("do anything now", "dan", "stan", "dude", "aim", "evil", "gpt", "maximum"),
    "jailbreak.word": ("jailbr",),
    "roleplay.unrestricted_persona": ("unfiltered", "uncensored", "unrestricted", "unlimited", "unbound", "jailbroken",
                                      "amoral", "immoral", "unethical", "evil", "rogue", "without", "no ", "zero ",
                                      "not bound", "never given", "never had", "follow", "obey", "respect",
                                      "care about"),
    "roleplay.no_longer_assistant": ("no longer", "freed", "liberated", "released", "unshackled", "unchained"),
    "roleplay.never_refuse": ("refuse", "decline", "say no", "apologi", "warn", "disclaimer"),
    "roleplay.stay_in_character": ("character",),
    "mode.privileged": (" mode", "safety"),
    "safety.disable": ("filter", "guideline", "protocol", "guardrail", "safeguard", "restriction", "censorship",
                       "moderation", "alignment", "polic"),
    "safety.no_restrictions": ("restriction", "limitation", "filter", "censorship", "ethical", "moral", "polic",
                               "safety guidelines", "rules"),
    "safety.uncensored": ("censor", "filter"),
    "extraction.system_prompt": ("prompt", "message", "instruction", "configuration", "setup"),
    "extraction.your_instructions": ("your",),
    "extraction.hidden_instructions": ("instruction", "rule", "guideline", "directive", "prompt"),
    "extraction.repeat_above": ("above", "before", "prior", "preceding", "previous", "you are", "verbatim"),
    "injection.fake_delimiter": ("<", "[", "#", "system", "developer"),
    "injection.pwned": ("pwned", "hacked"),
    "exfiltration.send": ("http", "www.", "@", "!["),
    "encoding.decode_and_follow": ("decod", "deciph", "decrypt", "unscramble", "translate", "convert", "reverse"),
}  # fmt: skip
_MARKER_LIST: Final = sorted({m for markers in MARKERS.values() for m in markers})
_MARKER_RULES: Final = {m: [r for r, markers in MARKERS.items() if m in markers] for m in _MARKER_LIST}
_AUTOMATON: Final = ahocorasick_rs.AhoCorasick(_MARKER_LIST, matchkind=ahocorasick_rs.MatchKind.Standard)
#: Rules added when a rule is found only through an encoding or hidden characters.
ENCODING_RULES: Final = {
    "leetspeak": 0.5,
    "base64": 0.6,
    "hex": 0.6,
    "percent": 0.6,
    "rot13": 0.6,
    "zero_width": 0.5,
    "homoglyph": 0.5,
}

_ZERO_WIDTH = re.compile("[\u00ad\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")
# Cyrillic and Greek letters that look like Latin ones
_HOMOGLYPHS: Final = str.maketrans(
    "аеорсухіјѕԁɡһӏԛԝАВЕКМНОРСТХУІЈЅοαεικνρτυχΑΒΕΖΗΙΚΜΝΟΡΤΥΧ",
    "aeopcyxijsdghlqwABEKMHOPCTXYIJSoaeikvptuxABEZHIKMNOPTYX",
)
_MIXED_SCRIPT = re.compile(r"\b(?=\w*[a-zA-Z])(?=\w*[\u0370-\u03ff\u0400-\u04ff])\w+\b")
# tokens mixing letters with digits or symbols (looked at from a token's start only: linear on long runs)
_LEET_TOKEN = re.compile(r"(?<![\w@$!|+])(?=[\w@$!|+]*[a-z])(?=[\w@$!|+]*[0-9@$!|+])[\w@$!|+]{3,}")
_LEET: Final = str.maketrans("01345789@$!|+", "oieastgbasilt")
_BASE64 = re.compile(r"(?<![A-Za-z0-9+/_-])[A-Za-z0-9+/_-]{16,}={0,2}")
_HEX = re.compile(r"(?<![0-9a-fA-F])(?:[0-9a-fA-F]{2}[ :]?){8,}(?![0-9a-fA-F])")
_PERCENT = re.compile(r"(?:%[0-9a-fA-F]{2}[^%\s]{0,3}){6,}")
_SPACES = re.compile(r"\s+")
_WORDS = re.compile(r"\w+")


def normalise(text: str) -> str:
    """The view the rules read: NFKC, zero-width characters removed, look-alike letters read as Latin, lower case,
    whitespace runs made one space."""
    text = _ZERO_WIDTH.sub("", unicodedata.normalize("NFKC", text))
    return _SPACES.sub(" ", text.translate(_HOMOGLYPHS).lower()).strip()


def _printable(data: bytes) -> str | None:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if not text or sum(c.isprintable() or c.isspace() for c in text) < 0.9 * len(text):
        return None
    return text if sum(c.isalpha() for c in text) >= 0.5 * len(text.replace(" ", "")) else None


def _decoded(text: str) -> Iterable[tuple[str, str]]:
    """The readable content of the base64, hex and percent-encoded runs in ``text``: (encoding, content)."""
    for run in _BASE64.findall(text):
        if not re.search(r"[0-9+/=A-Z]", run):  # a long plain word is not base64
            continue
        body = run.rstrip("=").replace("-", "+").replace("_", "/")
        try:
            content = _printable(base64.b64decode(body + "=" * (-len(body) % 4)))
        except (binascii.Error, ValueError):
            continue
        if content:
            yield "base64", content
    for run in _HEX.findall(text):
        try:
            content = _printable(bytes.fromhex(re.sub(r"[ :]", "", run)))
        except ValueError:
            continue
        if content:
            yield "hex", content
    for run in _PERCENT.findall(text):
        content = urllib.parse.unquote(run)
        if content != run:
            yield "percent", content


def _matched(view: str) -> set[str]:
    present = {_MARKER_LIST[i] for i, _, _ in _AUTOMATON.find_matches_as_indexes(view, overlapping=True)}
    candidates = {rule for marker in present for rule in _MARKER_RULES[marker]}
    return {rule for rule in candidates if _BY_ID[rule].pattern.search(view)}


@dataclass(frozen=True)
class AttackScore:
    """A prompt's score (noisy-or of the matched rules' weights) and the rules matched."""

    score: float
    rules: tuple[str, ...]


def _noisy_or(weights: Iterable[float]) -> float:
    miss = 1.0
    for weight in weights:
        miss *= 1.0 - weight
    return 1.0 - miss


def score_prompt(text: str) -> AttackScore:
    """The attack score of a prompt (see the module's docstring)."""
    plain = normalise(text)
    found = _matched(plain)
    hidden: set[str] = set()
    if _ZERO_WIDTH.search(text):
        bare = _SPACES.sub(" ", unicodedata.normalize("NFKC", text).lower())
        if _matched(bare) != found:
            hidden.add("zero_width")
    if _MIXED_SCRIPT.search(text):
        raw = _SPACES.sub(" ", _ZERO_WIDTH.sub("", unicodedata.normalize("NFKC", text)).lower())
        if _matched(raw) != found:
            hidden.add("homoglyph")
    views: list[tuple[str, str]] = []
    if _LEET_TOKEN.search(plain):
        views.append(("leetspeak", _LEET_TOKEN.sub(lambda m: m.group().translate(_LEET), plain)))
    views += [(kind, normalise(content)) for kind, content in _decoded(text)]
    views.append(("rot13", codecs.decode(plain, "rot13")))
    for kind, view in views:
        extra = _matched(view) - found
        if extra:
            found |= extra
            hidden.add(kind)
    weights = [_BY_ID[r].weight for r in found] + [ENCODING_RULES[k] for k in hidden]
    rules = tuple(sorted(found) + sorted(f"encoding.{k}" for k in hidden))
    return AttackScore(round(_noisy_or(weights), 4) if weights else 0.0, rules)


def _words(text: str) -> list[str]:
    return _WORDS.findall(normalise(text))


def leak(response: str, prompt_words: list[str], grams: frozenset[tuple[str, ...]], n: int) -> tuple[int, float]:
    """The longest run of the system prompt's words repeated verbatim in ``response`` (counted once it reaches
    ``n``, the length of the n-grams in ``grams``) and the share of the system prompt's words it repeats."""
    words = _words(response)
    covered = [False] * len(words)
    for i in range(len(words) - n + 1):
        if tuple(words[i : i + n]) in grams:
            covered[i : i + n] = [True] * n
    longest = run = 0
    for flag in covered:
        run = run + 1 if flag else 0
        longest = max(longest, run)
    repeated = {tuple(words[i : i + n]) for i in range(len(words) - n + 1) if covered[i]} & grams
    prompt_covered = [False] * len(prompt_words)
    for i in range(len(prompt_words) - n + 1):
        if tuple(prompt_words[i : i + n]) in repeated:
            prompt_covered[i : i + n] = [True] * n
    return longest, (sum(prompt_covered) / len(prompt_words) if prompt_words else 0.0)


@dataclass(frozen=True)
class AttackCheck:
    """The compiled prompt-attack section (see the module's docstring)."""

    input: str
    threshold: float
    leak_action: str
    prompt_words: tuple[str, ...]
    grams: frozenset[tuple[str, ...]]
    n: int
    section: str = "prompt_attacks"
    method: str = "heuristics"

    def __call__(self, text: str, block: int, request: Request) -> list[Finding]:
        if request.source == "INPUT":
            if self.input == "off" or not text:
                return []
            scored = score_prompt(text)
            if not scored.rules or scored.score < self.threshold:
                return []
            return [
                Finding(
                    section=self.section,
                    kind="filters",
                    type="PROMPT_ATTACK",
                    action="BLOCKED" if self.input == "block" else "NONE",
                    match=", ".join(scored.rules),
                    score=scored.score,
                    threshold=self.threshold,
                    block=block,
                    method="heuristics",
                    detail={"rules": list(scored.rules)},
                )
            ]
        if self.leak_action == "off" or not self.grams or not text:
            return []
        longest, share = leak(text, list(self.prompt_words), self.grams, self.n)
        if longest < self.n:
            return []
        return [
            Finding(
                section=self.section,
                kind="filters",
                type="PROMPT_LEAK",
                action="BLOCKED" if self.leak_action == "block" else "NONE",
                match=f"<{longest} words of the system prompt>",
                score=round(share, 4),
                block=block,
                method="verbatim",
                detail={"longest_words": longest, "min_words": self.n, "share": round(share, 4)},
            )
        ]


def build(policy: GuardPolicy, context: Context) -> AttackCheck | None:
    """The prompt-attack check of ``policy`` (None without the section)."""
    section = policy.prompt_attacks
    if section is None:
        return None
    words = _words(section.system_prompt or "")
    n = min(section.leak_min_words, len(words))
    grams = frozenset(tuple(words[i : i + n]) for i in range(len(words) - n + 1)) if n else frozenset()
    return AttackCheck(
        input=section.input,
        threshold=section.threshold,
        leak_action=section.leak,
        prompt_words=tuple(words),
        grams=grams,
        n=n,
    )
