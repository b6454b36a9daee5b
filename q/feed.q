/ feed.q: a feed handler in the style of kdb-tick's examples. Every timer tick it sends the tickerplant
/ a few random trades and quotes for five tickers as .u.upd calls, each a list of column vectors
/ with no time column (the tickerplant stamps it, as tick.q does). Prices follow a random walk.
/ Run against this tickerplant (schema q/sym.q; publishing is free whatever the pricing):
/   npx tickerplant sym -p 5010
/   q q/feed.q [host:port[,host:port...]] [-t ms]   / defaults localhost:5010, every 100 ms
/ One tickerplant: async calls, as kdb-tick's feeds make them. A list (a hot-standby pair, --ha): sync
/ calls, so that the standby's 'standby reaches the feed, which then moves on to the next tickerplant, as
/ it does when a connection is lost or refused. An update that failed is reported, not re-sent: it may
/ have been stored before the connection went.

tps:hsym each `$","vs $[count .z.x;first .z.x;"localhost:5010"]
k:0                                        / tps k is the tickerplant in use
h:0Ni                                      / its handle, null when not connected
syms:`AAPL`GOOGL`MSFT`IBM`AMZN
px:syms!190 140 370 160 150f               / last price per sym
n:4                                        / at most n rows per table per tick

/ the next tickerplant in the list
move:{[] if[not null h; @[hclose;h;::]]; h::0Ni; k::(k+1)mod count tps}
/ a handle to tps k, opened if needed (1 s timeout); null if it does not answer (and k moves on)
conn:{[] if[null h; h::@[hopen;(tps k;1000);{0Ni}]; if[null h; move[]]]; h}
.z.pc:{[x] if[x=h; h::0Ni]}

/ sends one update; with several tickerplants waits for the answer and moves on after an error
pub:{[t;x]
  if[null conn[]; :(::)];
  if[1=count tps; :neg[h](`.u.upd;t;x)];
  r:@[{(1b;h x)};(`.u.upd;t;x);{(0b;x)}];
  if[not first r; -1"feed: ",string[tps k]," said '",(last r),"; trying the next tickerplant"; move[]];
  }

/ moves each sym's price by up to 0.1% either way (a repeated sym moves twice); new prices in cents
walk:{[s]@[`px;s;*;1+0.001*-1+2*(count s)?1f];0.01*floor 0.5+100*px s}
lots:{[k]100i*1i+k?10i}                    / k round-lot sizes, int as sym.q's size columns

/ each tick: 1 to n trades, then 1 to n quotes around the new prices (half spread 1 to 5 cents)
.z.ts:{
  s:(1+rand n)?syms;
  pub[`trade;(s;walk s;lots count s)];
  s:(1+rand n)?syms;
  p:walk s;
  d:0.01*1+(count s)?5;
  pub[`quote;(s;p-d;p+d;lots count s;lots count s)];
  }

if[not system"t";system"t 100"]
