/ sub.q: a plain subscriber in the style of kdb-tick's: subscribe to one table for some syms, define the
/ table from the schema the tickerplant answers with, then insert and show every upd.
/ Run against this tickerplant, for a free table (no Lightning backend, or a pricing file pricing it 0):
/   npx tickerplant sym -p 5010
/   q q/sub.q [host:port] [table] [sym ...]    / defaults localhost:5010 trade AAPL GOOGL
/   q q/sub.q localhost:5010 quote             / a table with no syms: every sym (`)
/ A priced table answers with an invoice as well: use paysub.q for it.

a:.z.x
h:hopen `$":",$[count a;a 0;"localhost:5010"]
t:$[1<count a;`$a 1;`trade]
s:$[2<count a;`$2_a;1<count a;`;`AAPL`GOOGL]

upd:{[t;x]t insert x;show x}
.u.end:{[d]-1"end of day ",string d;}

/ (t;schema), as h".u.sub[`trade;`AAPL`GOOGL]" answers; the list form is tick/c.q's
r:h(".u.sub";t;s)
if[3=count r;-2"table ",string[t]," is priced: run q/paysub.q to pay for it";exit 1]
t set r 1
-1"subscribed to ",string[t],$[null first s;"";" for "," "sv string s];
