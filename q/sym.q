/ Tick schema: the tables this tickerplant accepts, read at start-up as SRC (default sym, i.e. q/sym.q),
/ as KX's tick.q loads tick/SRC.q. Every table must begin with the columns time and sym (here timespan
/ and symbol); subscribers receive these definitions, empty, with `g# on sym. Same tables as KX's kdb tick/sym.q.
quote:([]time:`timespan$();sym:`symbol$();bid:`float$();ask:`float$();bsize:`int$();asize:`int$())
trade:([]time:`timespan$();sym:`symbol$();price:`float$();size:`int$())
