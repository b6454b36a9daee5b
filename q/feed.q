/ feed.q: a feed handler in the style of kdb-tick's examples. Every timer tick it sends the tickerplant
/ a few random trades and quotes for five tickers as async .u.upd calls, each a list of column vectors
/ with no time column (the tickerplant stamps it, as tick.q does). Prices follow a random walk.
/ Run against this tickerplant (schema q/sym.q; publishing is free whatever the pricing):
/   npx tickerplant sym -p 5010
/   q q/feed.q [host:port] [-t ms]          / defaults localhost:5010, every 100 ms

h:neg hopen `$":",$[count .z.x;first .z.x;"localhost:5010"]
syms:`AAPL`GOOGL`MSFT`IBM`AMZN
px:syms!190 140 370 160 150f               / last price per sym
n:4                                        / at most n rows per table per tick

/ moves each sym's price by up to 0.1% either way (a repeated sym moves twice); new prices in cents
walk:{[s]@[`px;s;*;1+0.001*-1+2*(count s)?1f];0.01*floor 0.5+100*px s}
lots:{[k]100i*1i+k?10i}                    / k round-lot sizes, int as sym.q's size columns

/ each tick: 1 to n trades, then 1 to n quotes around the new prices (half spread 1 to 5 cents)
.z.ts:{
  s:(1+rand n)?syms;
  h(`.u.upd;`trade;(s;walk s;lots count s));
  s:(1+rand n)?syms;
  p:walk s;
  d:0.01*1+(count s)?5;
  h(`.u.upd;`quote;(s;p-d;p+d;lots count s;lots count s));
  }

if[not system"t";system"t 100"]
