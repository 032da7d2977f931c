"""The notes of the monthly report: how each figure was counted, in French, for its readers.

The conventions themselves are written at the top of :mod:`.kpi`; the notes say them to
the operators, with what this month's data adds (decisions on earlier posts, the basis
of the engagement rate, the follower readings used).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import timedelta

from entraide.kernel.times import format_date_fr
from entraide.reporting.figures import MonthlyReport


def with_notes(report: MonthlyReport, loader_notes: Sequence[str]) -> MonthlyReport:
    """``report`` with the notes that say how its figures were counted, in French."""
    last_day = (report.period_end - timedelta(days=1)).date()
    notes = [
        f"Période : du {format_date_fr(report.period_start.date())} au "
        f"{format_date_fr(last_day)} inclus, en temps universel (UTC).",
    ]
    if report.empty:
        notes.append(
            "Aucune activité ce mois-ci : ni annonce, ni décision de modération, "
            "ni mise en relation, ni activation, ni tweet."
        )
    notes.append(
        "Les annonces sont comptées dans le mois de leur dépôt, avec leur statut au moment "
        "du rapport."
    )
    decisions = (
        "Les décisions de modération (taux d'approbation, délai) sont comptées dans le mois "
        "où elles ont été prises : une annonce déposée le 31 et validée le 1er compte dans "
        "les annonces de son mois de dépôt et dans les décisions du mois suivant."
    )
    earlier = report.moderation.decided_from_earlier_months
    if earlier:
        decisions += (
            f" Ce mois-ci, {earlier} décision{'s' if earlier > 1 else ''} "
            f"porte{'nt' if earlier > 1 else ''} sur des annonces déposées le mois précédent."
        )
    notes.append(decisions)
    tweets = report.tweets
    if tweets.engagement_basis == "impressions":
        notes.append(
            "Taux d'engagement = interactions (j'aime, retweets, réponses, citations) "
            "÷ impressions des tweets mesurés."
        )
    elif tweets.engagement_basis == "followers":
        notes.append(
            "Taux d'engagement = interactions (j'aime, retweets, réponses, citations) "
            "÷ (tweets mesurés × abonnés en fin de mois) : X n'a pas donné les impressions "
            "de tous les tweets."
        )
    elif tweets.total:
        notes.append(
            "Taux d'engagement non calculable : aucune métrique de tweet ni aucun relevé "
            "d'abonnés pour ce mois."
        )
    if tweets.total and tweets.metrics_day is not None:
        notes.append(
            f"Métriques des tweets : dernier relevé quotidien jusqu'au "
            f"{format_date_fr(tweets.metrics_day)} ({tweets.measured} tweet"
            f"{'s' if tweets.measured > 1 else ''} mesuré{'s' if tweets.measured > 1 else ''} "
            f"sur {tweets.total})."
        )
    followers = report.followers
    if followers.start_day is None:
        notes.append(
            "Abonnés : aucun relevé quotidien ce mois-ci (relevés désactivés sans identifiants X)."
        )
    elif followers.end_day is not None and followers.end_day != followers.start_day:
        notes.append(
            f"Abonnés : relevés du {format_date_fr(followers.start_day)} et du "
            f"{format_date_fr(followers.end_day)}."
        )
    else:
        notes.append(
            f"Abonnés : un seul relevé ({format_date_fr(followers.start_day)}), "
            "pas de croissance calculable."
        )
    if followers.top and followers.top_day and not followers.top_complete:
        notes.append(
            f"Abonnés les plus influents : les plus suivis parmi les {followers.top_read} "
            f"abonnés lus le {format_date_fr(followers.top_day)} "
            "(lire tous les abonnés coûterait trop de quota de l'API X)."
        )
    notes.append(
        "Les jours d'activation comptent les jours du mois (UTC) où l'activation était ouverte."
    )
    notes.extend(loader_notes)
    notes.append("Ce rapport ne contient aucune donnée personnelle des auteurs d'annonces.")
    return replace(report, notes=tuple(notes))
