"""Credits in: the one way every bank credit enters the books, whatever brought it.

    channels ──▶ queue ──▶ take_in ──▶ writer
    (webhook,    (group    (recognise  (one write per table and
     statement,   commit)   a credit    the events, in the
     cash)                  seen before, transaction that holds
                            place the   the credits)
                            new ones)

- `channels`: what each channel must prove before anything is stored (an aggregator's signature and the
  school's own account; a statement's account and its file recorded once; cash for an invoice of the
  school); `Intake` is the pipeline's entry point, one per service runtime.
- `queue`: concurrent credits of any school share one transaction (a statement has its own).
- `take_in`: the same credit by any channel, any number of times, is one credit (`domain.dedup`); a new one
  is placed by the matcher (`domain.matching`) against its school's book of open invoices.
- `writer`: the rows and events of what was decided (also used by the accountant's actions).
- `webhook_secrets`: what a webhook needs of its school, kept while the process hears of every change.
"""
