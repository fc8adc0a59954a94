"""Evaluation's application layer: the subscriptions that keep its facts and ask for assessments, the
participants' submissions, the programs' impact, and the scheduler.

    evaluation = await submissions.assess(store, participant_id, Phase.END, ratings, now=now, metadata=metadata)
    report = await scheduler.tick(store, now=clock.now())
"""
