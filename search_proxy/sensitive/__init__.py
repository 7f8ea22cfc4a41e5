"""Sensitive-word filtering of outgoing queries and incoming results.

`normalize` folds text (width, case, traditional Chinese, inserted noise) while keeping a map
back to the original offsets; `words` reads the word and allow lists; `automaton` runs
Aho-Corasick over folded text; `matcher.SensitiveFilter` finds listed words in one pass and
masks or removes them in the original text;
`policy.FilterPolicy` applies the configured actions to queries (block or strip) and results
(mask or drop), counting and logging every decision without the text itself.
"""
