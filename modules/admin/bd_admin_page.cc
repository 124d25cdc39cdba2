/*
 * bd_admin_page.cc: the status page at / of the admin listener, one
 * self-contained document (no script or style from elsewhere): the totals and
 * the per-model and per-key tables are rendered by the server, so they read
 * without JavaScript; a small inline script then refreshes them every few
 * seconds from /v1/stats (the same numbers) and draws the last hour from the
 * sampler's ring. The layout narrows to one column on a phone.
 */
#include "modules/admin/bd_admin_int.h"

#include <stdio.h>

#include <event2/http.h>

static void
bd_admin_html_escape(std::string *out, const std::string &s)
{
    for (char ch : s) {
        switch (ch) {
        case '&': out->append("&amp;"); break;
        case '<': out->append("&lt;"); break;
        case '>': out->append("&gt;"); break;
        case '"': out->append("&quot;"); break;
        case '\'': out->append("&#39;"); break;
        default: out->push_back(ch);
        }
    }
}

static std::string
bd_admin_num(uint64_t n)
{
    return std::to_string((unsigned long long)n);
}

static std::string
bd_admin_seconds(double s)
{
    char buf[32];
    snprintf(buf, sizeof(buf), "%.3f", s);
    return buf;
}

/* One <tbody> of per-model or per-key rows; <names> adds each key's name. */
static void
bd_admin_page_rows(std::string *out, const char *kind,
                   const std::map<std::string, std::vector<uint64_t>> &rows,
                   const std::map<std::string, std::string> *names)
{
    for (const auto &r : rows) {
        std::vector<uint64_t> v = r.second;
        v.resize(4);
        out->append("<tr data-").append(kind).append("=\"");
        bd_admin_html_escape(out, r.first);
        out->append("\"><th scope=\"row\">");
        bd_admin_html_escape(out, r.first.empty() ? "(none)" : r.first);
        if (names != nullptr && names->count(r.first) != 0) {
            out->append(" <small>");
            bd_admin_html_escape(out, names->at(r.first));
            out->append("</small>");
        }
        out->append("</th>");
        static const char *const cls[] = {"req", "err", "in", "out"};
        for (int i = 0; i < 4; i++) {
            out->append("<td class=\"").append(cls[i]).append(i == 1 && v[1] == 0 ? " z" : "");
            out->append("\">");
            out->append(bd_admin_num(v[(size_t)i])).append("</td>");
        }
        out->append("</tr>\n");
    }
}

static const char bd_admin_page_head[] = R"HTML(<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>bedrockd status</title>
<style>
body{font:15px/1.4 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;background:#f6f7f9;color:#1d2330}
header{background:#1d2330;color:#fff;padding:.8em 1em;display:flex;justify-content:space-between;flex-wrap:wrap;gap:.5em}
header h1{font-size:1.1em;margin:0}
main{padding:1em;max-width:1200px;margin:0 auto}
.tiles{display:grid;grid-template-columns:repeat(auto-fill,minmax(140px,1fr));gap:.6em}
.tile{background:#fff;border-radius:8px;padding:.6em .8em;box-shadow:0 1px 2px #0002}
.tile .v{font-size:1.5em;font-weight:600;font-variant-numeric:tabular-nums}
.tile .l{color:#5a6275;font-size:.85em}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(300px,1fr));gap:.6em;margin-top:1em}
.chart{background:#fff;border-radius:8px;padding:.5em;box-shadow:0 1px 2px #0002}
.chart h3{font-size:.9em;margin:.2em .3em;color:#5a6275}
canvas{width:100%;height:120px;display:block}
h2{font-size:1em;margin:1.4em 0 .4em}
.scroll{overflow-x:auto}
table{border-collapse:collapse;width:100%;background:#fff;border-radius:8px;box-shadow:0 1px 2px #0002}
th,td{padding:.35em .6em;text-align:right;border-bottom:1px solid #eceef2;font-variant-numeric:tabular-nums;white-space:nowrap}
th[scope=row],thead th:first-child{text-align:left}
td.err:not(.z){color:#b42318}
small{color:#5a6275;font-weight:normal}
footer{color:#5a6275;font-size:.8em;padding:1em;text-align:center}
</style></head><body>
<header><h1>bedrockd status</h1><span id="updated">)HTML";

static const char bd_admin_page_script[] = R"HTML(<script>
(function(){
'use strict';
var PERIOD=5000;
function set(id,v){var e=document.getElementById(id);if(e)e.textContent=v;}
function rows(tbody,kind,list){
  var html='';
  list.forEach(function(r){
    var name=r[kind];
    var esc=function(s){return String(s).replace(/[&<>"']/g,function(c){return '&#'+c.charCodeAt(0)+';';});};
    html+='<tr data-'+kind+'="'+esc(name)+'"><th scope="row">'+esc(name===''?'(none)':name)+
      (r.name?' <small>'+esc(r.name)+'</small>':'')+'</th>'+
      '<td class="req">'+r.requests+'</td><td class="err'+(r.errors?'':' z')+'">'+r.errors+'</td>'+
      '<td class="in">'+r.input_tokens+'</td><td class="out">'+r.output_tokens+'</td></tr>';
  });
  document.querySelector('#'+tbody+' tbody').innerHTML=html;
}
function chart(id,hist,col,per){
  var c=document.getElementById(id);if(!c||!c.getContext)return;
  var w=c.clientWidth||300,h=c.clientHeight||120,r=window.devicePixelRatio||1;
  c.width=w*r;c.height=h*r;var g=c.getContext('2d');g.scale(r,r);g.clearRect(0,0,w,h);
  var pts=[];
  for(var i=1;i<hist.length;i++){
    var dt=(hist[i][0]-hist[i-1][0])/1000;var d=hist[i][col]-hist[i-1][col];
    pts.push(per&&dt>0?Math.max(0,d)/dt:(per?0:hist[i][col]));
  }
  if(!per&&hist.length===1)pts.push(hist[0][col]);
  var max=Math.max.apply(null,pts.concat([1]));
  g.strokeStyle='#d0d4dc';g.beginPath();g.moveTo(0,h-0.5);g.lineTo(w,h-0.5);g.stroke();
  g.fillStyle='#5a6275';g.font='11px sans-serif';g.fillText(max.toFixed(per?2:0)+(per?'/s':''),4,12);
  if(pts.length<2){g.fillText('collecting\u2026',4,h/2);return;}
  g.strokeStyle='#2563eb';g.lineWidth=1.5;g.beginPath();
  pts.forEach(function(p,i){var x=i*(w-1)/(pts.length-1),y=h-2-(p/max)*(h-16);if(i)g.lineTo(x,y);else g.moveTo(x,y);});
  g.stroke();
}
function show(s){
  var t=s.totals;
  set('t-requests',t.requests);set('t-errors',t.errors);set('t-tokens',t.tokens);
  set('t-active',t.active);set('t-streams',t.streams);
  set('t-p50',s.latency_seconds.p50.toFixed(3));set('t-p90',s.latency_seconds.p90.toFixed(3));
  set('t-p99',s.latency_seconds.p99.toFixed(3));
  rows('models','model',s.models);rows('keys','key',s.keys);
  var hist=s.history.concat([[s.time,t.requests,t.errors,t.tokens,t.streams]]);
  chart('c-requests',hist,1,true);chart('c-errors',hist,2,true);chart('c-tokens',hist,3,true);
  chart('c-streams',hist,4,false);
  set('updated','updated '+new Date(s.time).toISOString().replace('.000',''));
  document.body.setAttribute('data-refreshed',String(s.time));
}
function tick(){
  fetch('/v1/stats',{credentials:'same-origin',cache:'no-store'})
    .then(function(r){if(!r.ok)throw new Error(r.status);return r.json();})
    .then(show).catch(function(e){set('updated','refresh failed ('+e.message+')');})
    .then(function(){setTimeout(tick,PERIOD);});
}
tick();
})();
</script>
)HTML";

void
bd_admin_page(bd_admin_req_t *ar)
{
    if (ar->method != EVHTTP_REQ_GET && ar->method != EVHTTP_REQ_HEAD) {
        bd_admin_error(ar, 405, nullptr, "/ takes GET");
        return;
    }
    bd_admin_totals_t t;
    if (bd_admin_totals(ar->a->p, &t) != 0) {
        bd_admin_error(ar, 503, nullptr, "the metrics module has not started");
        return;
    }
    std::map<std::string, std::string> names = bd_admin_key_names(ar->a->p);
    std::string out;
    out.reserve(16384);
    out.append(bd_admin_page_head);
    out.append("server-rendered</span></header>\n<main>\n<section class=\"tiles\">\n");
    const struct {
        const char *id, *label;
        std::string value;
    } tiles[] = {
        {"t-requests", "requests", bd_admin_num(t.requests)},
        {"t-errors", "errors (4xx/5xx)", bd_admin_num(t.errors)},
        {"t-tokens", "tokens (all types)", bd_admin_num(t.tokens)},
        {"t-active", "in flight", std::to_string((long long)t.active)},
        {"t-streams", "open streams", std::to_string((long long)t.streams)},
        {"t-p50", "latency p50 (s)", bd_admin_seconds(t.p50_s)},
        {"t-p90", "latency p90 (s)", bd_admin_seconds(t.p90_s)},
        {"t-p99", "latency p99 (s)", bd_admin_seconds(t.p99_s)},
    };
    for (const auto &tile : tiles) {
        out.append("<div class=\"tile\"><div class=\"v\" id=\"").append(tile.id).append("\">");
        out.append(tile.value).append("</div><div class=\"l\">").append(tile.label);
        out.append("</div></div>\n");
    }
    out.append("</section>\n<section class=\"charts\">\n");
    const char *const charts[][2] = {{"c-requests", "requests / s, last hour"},
                                     {"c-errors", "errors / s, last hour"},
                                     {"c-tokens", "tokens / s, last hour"},
                                     {"c-streams", "open streams, last hour"}};
    for (const auto &c : charts) {
        out.append("<div class=\"chart\"><h3>").append(c[1]).append("</h3><canvas id=\"");
        out.append(c[0]).append("\"></canvas></div>\n");
    }
    out.append("</section>\n");
    const char *const tables[][3] = {{"models", "model", "By model"}, {"keys", "key", "By key"}};
    for (const auto &tb : tables) {
        out.append("<h2>").append(tb[2]).append("</h2><div class=\"scroll\"><table id=\"");
        out.append(tb[0]).append("\"><thead><tr><th>").append(tb[1]);
        out.append("</th><th>requests</th><th>errors</th><th>input tokens</th>"
                   "<th>output tokens</th></tr></thead><tbody>\n");
        bool keys = tb[0][0] == 'k';
        bd_admin_page_rows(&out, tb[1], keys ? t.by_key : t.by_model, keys ? &names : nullptr);
        out.append("</tbody></table></div>\n");
    }
    out.append("</main>\n<footer>The same counters as /metrics; refreshed every 5 s. "
               "API: <a href=\"/openapi.json\">/openapi.json</a></footer>\n");
    out.append(bd_admin_page_script);
    out.append("</body></html>\n");
    struct evkeyvalq *h = evhttp_request_get_output_headers(ar->req);
    evhttp_add_header(h, "Content-Security-Policy",
                      "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
                      "connect-src 'self'; frame-ancestors 'none'");
    evhttp_add_header(h, "X-Frame-Options", "DENY");
    bd_admin_reply_text(ar, 200, "text/html; charset=utf-8", out);
}
