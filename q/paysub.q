/ paysub.q: a paying subscriber, the client side of the Lightning tickerplants white paper's sub/pay/pub.
/ Subscribes, shows the invoice the tickerplant answers with (the third item of .u.sub's reply), pays it,
/ keeps the preimage (the proof of payment for .u.subPaid after a reconnect), pays the renewals that a
/ tickerplant selling periods pushes as (`.u.renew;tables;invoice), and shows the data as it comes.
/ It pays with qlnd's .lnd.sendPayment when qlnd is loaded, else with the tickerplant's .dev.pay.
/ Run against this tickerplant:
/   npx tickerplant sym -p 5010 --lightning dev        / the built-in dev node: test money, .dev.pay
/   q q/paysub.q [host:port] [table] [sym ...]        / defaults localhost:5010 trade AAPL GOOGL
/ Against a tickerplant on a real node (--lnd host:port), pay from your own lnd with qlnd (embedPy):
/   QLND=/path/to/qlnd.q q q/paysub.q localhost:5010 trade AAPL

a:.z.x
hp:`$":",$[count a;a 0;"localhost:5010"]
t:$[1<count a;`$a 1;`trade]
s:$[2<count a;`$2_a;1<count a;`;`AAPL`GOOGL]
if[count f:getenv`QLND;system"l ",f]
h:hopen hp
preimage:""

upd:{[t;x]t insert x;show x}
.u.end:{[d]-1"end of day ",string d;}

/ amount (sat) and memo of a BOLT11 payment request: lnd decodes it when qlnd is loaded; else they are
/ read from the string: the amount from the prefix (lnbcrt2u: 2 micro-BTC) and the memo from the d field
/ (tag 13) of the 5-bit words between the last "1" and the checksum, after the 35-bit timestamp
b32:"qpzry9x8gf2tvdw0s3jn54khce6mua7l"
describe:{[r]
  if[`lnd in key`;d:.lnd.decodePayReq r;:`amount`memo!("J"$d`num_satoshis;d`description)];
  i:last where r="1";
  hrp:i#r;
  v:b32?(i+1)_-6_r;
  m:(hrp?first hrp inter .Q.n)_hrp;
  amt:$[0=count m;0N;(last m)in"munp";("J"$-1_m)*("munp"!100000 100 0.1 0.0001)last m;100000000*"J"$m];
  if[(not null amt)&amt=floor amt;amt:"j"$amt];   / whole sats as a long: 10000000, not 1e+07
  p:7;memo:"";
  while[p<count v;
    n:32 sv v p+1 2;
    if[13=v p;memo:"c"$2 sv'0N 8#{(8*count[x]div 8)#x}raze -5#'0b vs'v p+3+til n];
    p+:3+n];
  `amount`memo!(amt;memo)}

/ sats for display: a long prints in full (a float would print 1e+07); millisats keep 3 decimals
sats:{$[-7h=type x;string x;null x;"?";.Q.f[3;x]]}

/ pays a payment request; returns the preimage (base64). The tickerplant's own error is shown as it is;
/ only 'access (no .dev.pay: not the dev node) gets the hint about qlnd
devfail:{'$[x~"access";"cannot pay: the tickerplant has no dev node (--lightning dev); load qlnd (QLND=path/qlnd.q) to pay from your lnd";"payment failed: ",x]}
pay:{[req]
  r:$[`lnd in key`;.lnd.sendPayment enlist[`payment_request]!enlist req;@[h;(`.dev.pay;req);devfail]];
  if[count e:$[`payment_error in key r;r`payment_error;""];'"payment failed: ",e];
  r`payment_preimage}

/ shows an invoice dict (`r_hash`payment_request`add_index) and pays it
settle:{[inv]
  d:describe r:inv`payment_request;
  -1"invoice: ",sats[d`amount]," sat; memo: ",d[`memo],"\npayment_request: ",r;
  preimage::pay r;
  -1"paid";}

/ a tickerplant that sells periods sends the next invoice before the period ends
.u.renew:{[tables;invoice]-1"renewal for ",", "sv string tables;settle invoice}

/ (re)subscribes: with the proof of payment when there is one, paying again only if it is refused
subscribe:{
  r:$[count preimage;@[h;(".u.subPaid";t;s;preimage);{[e]-2"proof of payment refused: ",e;h(".u.sub";t;s)}];h(".u.sub";t;s)];
  t set r 1;
  -1"subscribed to ",string[t],$[null first s;"";" for "," "sv string s];
  if[3=count r;settle r 2];}

/ lost the tickerplant: try again every second, re-attaching within the paid period without paying.
/ The timer stops only once the subscription is back: a failed subscribe[] (refused proof, payment
/ error) closes the new handle and the next tick tries again
reconnect:{h::hopen(x;1000);subscribe[];system"t 0";-1"reconnected";}
retry:{-2"reconnect failed: ",x;if[h;@[hclose;h;::];h::0];}
.z.pc:{if[x=h;h::0;-2"tickerplant connection lost";system"t 1000"]}
.z.ts:{if[not h;@[reconnect;hp;retry]]}

subscribe[]
