"""Finding artists by their ``gid`` in the figures under test."""

from __future__ import annotations


def with_gid(artists, gid):
    return [artist for artist in artists if artist.get_gid() == gid]


def lines(ax, gid):
    return with_gid(ax.lines, gid)


def patches(ax, gid):
    return with_gid(ax.patches, gid)


def legend_texts(ax):
    legend = ax.get_legend()
    return [] if legend is None else [text.get_text() for text in legend.get_texts()]
