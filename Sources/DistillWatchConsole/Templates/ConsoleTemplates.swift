// The console's Mustache templates (swift-mustache 2, https://mustache.github.io/mustache.5.html).
// Double braces HTML-escape every value; triple braces are used only for SVG that
// `SVGChart` drew (it escapes its own text) and for rendered sections.

enum ConsoleTemplates {
    static let layout = #"""
<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>{{title}} · DistillWatch</title>
{{#stylesheet}}<link rel="stylesheet" href="{{stylesheet}}">{{/stylesheet}}
{{#inlineStyle}}<style>{{{inlineStyle}}}</style>{{/inlineStyle}}
</head>
<body{{#reportTitle}} class="report"{{/reportTitle}}>
<a class="skip" href="#main">Skip to content</a>
<header class="top">
<span class="brand">DistillWatch</span>
{{#nav}}
<nav aria-label="Console">
<ul>{{#links}}<li><a href="{{href}}"{{#current}} aria-current="page"{{/current}}>{{text}}</a></li>{{/links}}</ul>
</nav>
<form class="search" method="get" action="/console/search" role="search">
<input id="q" name="q" type="search" aria-label="Search accounts, campaigns, API keys and addresses" placeholder="account, campaign, API key, address" value="{{query}}">
<button type="submit">Search</button>
</form>
<form class="signout" method="post" action="/console/logout">
<input type="hidden" name="csrf" value="{{csrf}}">
<button type="submit" id="sign-out">Sign out ({{analyst}})</button>
</form>
{{/nav}}
{{#reportTitle}}<span class="report-title">{{reportTitle}}</span>{{/reportTitle}}
</header>
<main id="main">
{{#flash}}<p class="flash" role="status">{{flash}}</p>{{/flash}}
{{{body}}}
</main>
<footer><p>All times are UTC. {{footer}}</p></footer>
</body>
</html>
"""#

    static let stats = #"""
<ul class="stats">{{#stats}}<li><span class="stat-name">{{name}}</span> <span class="stat-value">{{value}}</span></li>{{/stats}}</ul>
"""#

    /// The head of a campaigns table whose rows are `campaignRow`s (the overview, a stored run).
    static let campaignHead = #"""
<thead><tr><th scope="col">Campaign</th><th scope="col">Verdict</th><th scope="col" class="num">Score</th><th scope="col" class="num">Members</th><th scope="col" class="num">Exchanges</th><th scope="col" class="num">Output tokens</th><th scope="col">First flagged</th><th scope="col">Label</th></tr></thead>
"""#

    /// The head of an accounts table whose rows are `accountRow`s (the overview, a stored run).
    static let accountHead = #"""
<thead><tr><th scope="col">Account</th><th scope="col">Verdict</th><th scope="col" class="num">Score</th><th scope="col" class="num">Exchanges</th><th scope="col" class="num">Output tokens</th><th scope="col">First flagged</th><th scope="col">Campaign</th><th scope="col">Label</th></tr></thead>
"""#

    static let labels = #"""
{{^empty(labels)}}
<table>
<caption>Labels and notes (newest first)</caption>
<thead><tr><th scope="col">When</th><th scope="col">Subject</th><th scope="col">Label</th><th scope="col">Analyst</th><th scope="col">Note</th></tr></thead>
<tbody>{{#labels}}<tr><td>{{at}}</td><td>{{subject}} {{#href}}<a href="{{href}}">{{id}}</a>{{/href}}{{^href}}{{id}}{{/href}}</td><td>{{label}}</td><td>{{analyst}}</td><td>{{note}}</td></tr>{{/labels}}</tbody>
</table>
{{/empty(labels)}}
{{#empty(labels)}}<p>No labels or notes yet.</p>{{/empty(labels)}}
"""#

    static let overview = #"""
<h1>Overview</h1>
<p class="meta">As of {{asOf}}. {{source}}</p>
{{> stats}}
<section aria-labelledby="traffic-h">
<h2 id="traffic-h">Traffic</h2>
<figure>{{{trafficChart}}}<figcaption>Exchanges per hour (per day over spans longer than 14 days), from the stored history.</figcaption></figure>
</section>
<section aria-labelledby="verdicts-h">
<h2 id="verdicts-h">Verdicts</h2>
<table class="compact"><caption>Accounts by current verdict</caption>
<thead><tr><th scope="col">Verdict</th><th scope="col" class="num">Accounts</th></tr></thead>
<tbody>{{#verdicts}}<tr><th scope="row"><span class="badge verdict-{{name}}">{{name}}</span></th><td class="num">{{value}}</td></tr>{{/verdicts}}</tbody></table>
<figure>{{{flaggedChart}}}<figcaption>Accounts newly flagged (review or worse) per hour or day.</figcaption></figure>
</section>
<section aria-labelledby="campaigns-h">
<h2 id="campaigns-h">Campaigns</h2>
{{^empty(campaigns)}}
<div class="scroll"><table>
<caption>Highest-scored campaigns</caption>
{{> campaignHead}}
<tbody>{{#campaigns}}{{> campaignRow}}{{/campaigns}}</tbody>
</table></div>
{{/empty(campaigns)}}
{{#empty(campaigns)}}<p>No campaign found.</p>{{/empty(campaigns)}}
</section>
<section aria-labelledby="accounts-h">
<h2 id="accounts-h">Flagged accounts</h2>
{{^empty(accounts)}}
<div class="scroll"><table>
<caption>Highest-scored flagged accounts</caption>
{{> accountHead}}
<tbody>{{#accounts}}{{> accountRow}}{{/accounts}}</tbody>
</table></div>
{{#moreAccounts}}<p>{{moreAccounts}}</p>{{/moreAccounts}}
{{/empty(accounts)}}
{{#empty(accounts)}}<p>No account is flagged.</p>{{/empty(accounts)}}
</section>
<section aria-labelledby="labels-h">
<h2 id="labels-h">Recent decisions and labels</h2>
{{> labels}}
</section>
{{^empty(health)}}
<section aria-labelledby="health-h">
<h2 id="health-h">Ingest health</h2>
<ul class="stats">{{#health}}<li><span class="stat-name">{{name}}</span> <span class="stat-value">{{value}}</span></li>{{/health}}</ul>
</section>
{{/empty(health)}}
"""#

    /// One row: the partial's context is the row itself.
    static let campaignRow = #"""
<tr>
<th scope="row">{{#href}}<a class="campaign-link" href="{{href}}">{{id}}</a>{{/href}}{{^href}}{{id}}{{/href}}</th>
<td><span class="{{badge.cls}}">{{badge.text}}</span></td>
<td class="num">{{score}}</td>
<td class="num">{{members}}</td>
<td class="num">{{exchanges}}</td>
<td class="num">{{outputTokens}}</td>
<td>{{firstFlag}}</td>
<td>{{label}}</td>
</tr>
"""#

    static let accountRow = #"""
<tr>
<th scope="row">{{#href}}<a class="account-link" href="{{href}}">{{id}}</a>{{/href}}{{^href}}{{id}}{{/href}}</th>
<td><span class="{{badge.cls}}">{{badge.text}}</span></td>
<td class="num">{{score}}</td>
<td class="num">{{exchanges}}</td>
<td class="num">{{outputTokens}}</td>
<td>{{firstFlag}}</td>
<td>{{#campaign}}{{#campaignHref}}<a href="{{campaignHref}}">{{campaign}}</a>{{/campaignHref}}{{^campaignHref}}{{campaign}}{{/campaignHref}}{{/campaign}}{{^campaign}}–{{/campaign}}</td>
<td>{{label}}</td>
</tr>
"""#

    static let memberRow = #"""
<tr>
<th scope="row">{{#href}}<a class="account-link" href="{{href}}">{{id}}</a>{{/href}}{{^href}}{{id}}{{/href}}</th>
<td><span class="{{badge.cls}}">{{badge.text}}</span></td>
<td class="num">{{score}}</td>
<td class="num">{{exchanges}}</td>
<td class="num">{{outputTokens}}</td>
<td>{{joined}}</td>
<td>{{firstFlag}}</td>
<td>{{label}}</td>
</tr>
"""#

    static let campaigns = #"""
<h1>Campaigns</h1>
<form class="filters" method="get" action="">
<input type="hidden" name="sort" value="{{sortKey}}">
<label for="verdict">Verdict</label>
<select id="verdict" name="verdict">{{#verdictOptions}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{text}}</option>{{/verdictOptions}}</select>
<label for="label">Label</label>
<select id="label" name="label">{{#labelOptions}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{text}}</option>{{/labelOptions}}</select>
<button type="submit">Filter</button>
</form>
<p class="meta">{{count}}, sorted by {{sort}}.</p>
<div class="scroll"><table>
<caption>Campaigns (choose a column heading to sort)</caption>
<thead><tr><th scope="col">Campaign</th><th scope="col">Verdict</th>
{{#sortLinks}}<th scope="col" class="num" aria-sort="{{ariaSort}}"><a href="{{href}}">{{name}}</a></th>{{/sortLinks}}
<th scope="col">Output tokens</th><th scope="col">Label</th></tr></thead>
<tbody>{{#rows}}<tr>
<th scope="row">{{#href}}<a class="campaign-link" href="{{href}}">{{id}}</a>{{/href}}{{^href}}{{id}}{{/href}}</th>
<td><span class="{{badge.cls}}">{{badge.text}}</span></td>
<td class="num">{{score}}</td>
<td class="num">{{members}}</td>
<td class="num">{{exchanges}}</td>
<td>{{firstFlag}}</td>
<td class="num">{{outputTokens}}</td>
<td>{{label}}</td>
</tr>{{/rows}}</tbody>
</table></div>
{{#empty(rows)}}<p>No campaign matches.</p>{{/empty(rows)}}
"""#

    static let signals = #"""
<div class="scroll"><table>
<caption>{{signalCaption}}</caption>
<thead><tr><th scope="col">Signal</th><th scope="col" class="num">Value</th><th scope="col" class="num">Contribution</th><th scope="col">Detail</th></tr></thead>
<tbody>{{#signals}}<tr{{#contributes}} class="contributes"{{/contributes}}><th scope="row" class="signal">{{name}}{{#contributes}} <span class="tag">contributes</span>{{/contributes}}</th><td class="num">{{value}}</td><td class="num">{{contribution}}</td><td>{{detail}}</td></tr>{{/signals}}</tbody>
</table></div>
"""#

    static let capabilities = #"""
{{^empty(capabilities)}}
<table class="compact"><caption>Capability mix (share of prompts)</caption>
<thead><tr><th scope="col">Capability</th><th scope="col" class="num">Share</th><th scope="col"><span class="visually-hidden">Bar</span></th></tr></thead>
<tbody>{{#capabilities}}<tr><th scope="row">{{name}}</th><td class="num">{{share}}</td><td>{{{bar}}}</td></tr>{{/capabilities}}</tbody></table>
{{/empty(capabilities)}}
{{#empty(capabilities)}}<p>No capability mix: prompt text was not available (content signals off or no text captured).</p>{{/empty(capabilities)}}
"""#

    static let campaign = #"""
<section class="entity" id="{{anchor}}" aria-labelledby="h-{{anchor}}">
<h1 id="h-{{anchor}}">{{id}}</h1>
<p class="verdict-line"><span class="{{badge.cls}}">{{badge.text}}</span> score {{score}} · label: <strong>{{label}}</strong></p>
{{> stats}}
{{#form}}
<form class="actions" method="post" action="{{action}}" id="label-campaign">
<input type="hidden" name="csrf" value="{{csrf}}">
<label for="note">Note (kept in the audit log)</label>
<textarea id="note" name="note" rows="2" maxlength="2000"></textarea>
<div class="buttons">
<button type="submit" name="label" value="confirmed_attack" id="confirm-campaign">Confirm attack</button>
<button type="submit" name="label" value="legitimate" id="dismiss-campaign">Dismiss (legitimate)</button>
<button type="submit" name="label" value="note" id="note-campaign">Add note only</button>
</div>
</form>
{{/form}}
<h2>Timeline</h2>
<figure>{{{timeline}}}<figcaption>The members' exchanges per hour (per day over spans longer than 14 days) from the stored history, with the first-flag time and model releases marked. {{timelineAt}}</figcaption></figure>
<h2>What it harvested</h2>
{{> capabilities}}
<h2>Evidence linking the members</h2>
{{^empty(evidence)}}<ul class="evidence">{{#evidence}}<li><strong>{{kind}}</strong>: {{detail}} ({{accounts}} accounts)</li>{{/evidence}}</ul>{{/empty(evidence)}}
{{#empty(evidence)}}<p>No linking evidence recorded.</p>{{/empty(evidence)}}
{{#graph}}<figure>{{{graph}}}<figcaption>Accounts (left) and the hashed evidence values at least two of them share (right), for a sample of the highest-scored members.</figcaption></figure>{{/graph}}
{{^empty(signals)}}<h2>Campaign signals</h2>{{> signals}}{{/empty(signals)}}
<h2>Members</h2>
{{#memberNote}}<p class="meta">{{memberNote}}</p>{{/memberNote}}
{{#pager}}<p class="meta">{{text}}</p>{{/pager}}
<div class="scroll"><table>
<caption>Members by score</caption>
<thead><tr><th scope="col">Account</th><th scope="col">Verdict</th><th scope="col" class="num">Score</th><th scope="col" class="num">Exchanges</th><th scope="col" class="num">Output tokens</th><th scope="col">Joined (first link)</th><th scope="col">First flagged</th><th scope="col">Label</th></tr></thead>
<tbody>{{#members}}{{> memberRow}}{{/members}}</tbody>
</table></div>
{{#pager}}<nav class="pager" aria-label="Member pages">{{#previous}}<a href="{{previous}}" rel="prev">Previous page</a>{{/previous}} {{#next}}<a href="{{next}}" rel="next">Next page</a>{{/next}}</nav>{{/pager}}
<h2>Decisions and notes</h2>
{{> labels}}
</section>
"""#

    static let account = #"""
<section class="entity" id="{{anchor}}" aria-labelledby="h-{{anchor}}">
<h1 id="h-{{anchor}}">Account <span class="id">{{id}}</span></h1>
<p class="verdict-line"><span class="{{badge.cls}}">{{badge.text}}</span> score {{score}} · label: <strong>{{label}}</strong>
{{#campaign}} · campaign {{#campaignHref}}<a href="{{campaignHref}}">{{campaign}}</a>{{/campaignHref}}{{^campaignHref}}{{campaign}}{{/campaignHref}}{{/campaign}}</p>
{{#campaignDetail}}<p class="meta">{{campaignDetail}}</p>{{/campaignDetail}}
{{> stats}}
{{#form}}
<form class="actions" method="post" action="{{action}}" id="label-account">
<input type="hidden" name="csrf" value="{{csrf}}">
<label for="note">Note (kept in the audit log)</label>
<textarea id="note" name="note" rows="2" maxlength="2000"></textarea>
<div class="buttons">
<button type="submit" name="label" value="confirmed_attack" id="confirm-account">Confirm attack</button>
<button type="submit" name="label" value="legitimate" id="mark-legitimate">Mark legitimate</button>
<button type="submit" name="label" value="note" id="note-account">Add note only</button>
</div>
</form>
{{/form}}
<h2>Signals</h2>
{{> signals}}
{{^empty(keys)}}<h2>Flagged API keys</h2><ul class="stats">{{#keys}}<li><span class="stat-name">{{name}}</span> <span class="stat-value">{{value}}</span></li>{{/keys}}</ul>{{/empty(keys)}}
{{#signupScore}}<h2>Sign-up risk {{signupScore}}</h2><ul class="stats">{{#signup}}<li><span class="stat-name">{{name}}</span> <span class="stat-value">{{value}}</span></li>{{/signup}}</ul>{{/signupScore}}
{{^empty(directives)}}<h2>Countermeasures</h2><p class="meta">What gateways apply to this account's requests now (Documentation/Countermeasures.md).</p><ul class="stats">{{#directives}}<li><span class="stat-name">{{name}}</span> <span class="stat-value">{{value}}</span></li>{{/directives}}</ul>{{/empty(directives)}}
<h2>Activity</h2>
<figure>{{{daily}}}<figcaption>Exchanges per day from the stored history.</figcaption></figure>
{{#hourOfDay}}<figure>{{{hourOfDay}}}<figcaption>Exchanges by hour of day (UTC) over all traffic seen: a person's day has quiet hours, a harness does not.</figcaption></figure>{{/hourOfDay}}
{{#lastDay}}<figure>{{{lastDay}}}<figcaption>The last 24 hours of the account's own traffic.</figcaption></figure>{{/lastDay}}
{{^empty(capabilities)}}<h2>What it asked for</h2>{{> capabilities}}{{/empty(capabilities)}}
{{^empty(parameters)}}<h2>Models and parameters</h2><ul class="stats">{{#parameters}}<li><span class="stat-name">{{name}}</span> <span class="stat-value">{{value}}</span></li>{{/parameters}}</ul>{{/empty(parameters)}}
{{^empty(record)}}<h2>Account record</h2><ul class="stats">{{#record}}<li><span class="stat-name">{{name}}</span> <span class="stat-value">{{value}}</span></li>{{/record}}</ul>{{/empty(record)}}
{{^empty(linkKeys)}}<h2>Link evidence (hashed values)</h2><ul class="evidence">{{#linkKeys}}<li>{{.}}</li>{{/linkKeys}}</ul>{{/empty(linkKeys)}}
{{^empty(identifiers)}}
<h2>Addresses, API keys and user agents</h2>
<div class="scroll"><table><caption>Seen in the stored history</caption>
<thead><tr><th scope="col">Kind</th><th scope="col">Value</th><th scope="col" class="num">Exchanges</th><th scope="col">Last seen</th></tr></thead>
<tbody>{{#identifiers}}<tr><td>{{kind}}</td><td class="id">{{#href}}<a href="{{href}}">{{value}}</a>{{/href}}{{^href}}{{value}}{{/href}}</td><td class="num">{{exchanges}}</td><td>{{lastSeen}}</td></tr>{{/identifiers}}</tbody></table></div>
{{/empty(identifiers)}}
{{^empty(decisions)}}
<h2>Decision audit</h2>
<div class="scroll"><table><caption>The latest decide answers for this account</caption>
<thead><tr><th scope="col">When</th><th scope="col">Verdict</th><th scope="col" class="num">Score</th><th scope="col">Endpoint</th><th scope="col">Caller</th><th scope="col">Directives</th></tr></thead>
<tbody>{{#decisions}}<tr><td>{{at}}</td><td><span class="{{badge.cls}}">{{badge.text}}</span></td><td class="num">{{score}}</td><td>{{source}}</td><td>{{key}}</td><td>{{directives}}</td></tr>{{/decisions}}</tbody></table></div>
{{/empty(decisions)}}
<h2>Labels and notes</h2>
{{> labels}}
</section>
"""#

    static let search = #"""
<h1>Search</h1>
<form method="get" action="/console/search" class="filters">
<label for="q2">Account, campaign, API key or address (a prefix such as 198.51.100. finds a block)</label>
<input id="q2" name="q" type="search" value="{{query}}">
<button type="submit">Search</button>
</form>
{{#hasQuery}}
{{^empty(results)}}
<div class="scroll"><table><caption>{{count}}</caption>
<thead><tr><th scope="col">Kind</th><th scope="col">Match</th><th scope="col">Detail</th></tr></thead>
<tbody>{{#results}}<tr><td>{{kind}}</td><td>{{#href}}<a href="{{href}}">{{text}}</a>{{/href}}{{^href}}{{text}}{{/href}}</td><td>{{detail}}</td></tr>{{/results}}</tbody></table></div>
{{/empty(results)}}
{{#empty(results)}}<p>Nothing matches “{{query}}”.</p>{{/empty(results)}}
{{/hasQuery}}
"""#

    static let login = #"""
<h1>Sign in</h1>
{{#error}}<p class="error" role="alert">{{error}}</p>{{/error}}
<form method="post" action="/console/login" class="login">
<input type="hidden" name="csrf" value="{{csrf}}">
<label for="token">Analyst token</label>
<input id="token" name="token" type="password" autocomplete="current-password" required>
<button type="submit" id="sign-in">Sign in</button>
</form>
<p class="meta">The token is one of the server's analyst tokens (see Documentation/Console.md). It is checked once; the browser then keeps a session cookie.</p>
"""#

    static let message = #"""
<h1>{{heading}}</h1>
<p>{{text}}</p>
{{#link}}<p><a href="{{link}}">{{linkText}}</a></p>{{/link}}
"""#

    static let screening = #"""
<h1>High-volume screening</h1>
<form method="get" action="/console/screening" class="filters">
<label for="from">From (UTC date)</label><input id="from" name="from" type="date" value="{{fromDate}}">
<label for="to">To (UTC date, included)</label><input id="to" name="to" type="date" value="{{toDate}}">
<label for="min_exchanges">Exchanges ≥</label><input id="min_exchanges" name="min_exchanges" inputmode="numeric" value="{{minExchanges}}">
<label for="min_output_tokens">Output tokens ≥</label><input id="min_output_tokens" name="min_output_tokens" inputmode="numeric" value="{{minOutputTokens}}">
<label for="min_spend_usd">Spend (USD) ≥</label><input id="min_spend_usd" name="min_spend_usd" inputmode="decimal" value="{{minSpend}}">
<button type="submit">Screen</button>
</form>
{{{report}}}
"""#

    static let screeningReport = #"""
<section aria-labelledby="screening-h">
<h2 id="screening-h">Accounts above the thresholds, {{period}}</h2>
<ul class="stats">{{#facts}}<li><span class="stat-name">{{name}}</span> <span class="stat-value">{{value}}</span></li>{{/facts}}</ul>
{{^empty(rows)}}
<div class="scroll"><table>
<caption>{{count}}</caption>
<thead><tr><th scope="col">Account</th><th scope="col" class="num">Exchanges</th><th scope="col" class="num">Output tokens</th><th scope="col" class="num">Spend</th><th scope="col">Thresholds met</th><th scope="col">Purpose and capability mix</th><th scope="col">Verdict</th><th scope="col">Signals</th><th scope="col">Campaign</th><th scope="col">Disposition</th></tr></thead>
<tbody>{{#rows}}<tr>
<th scope="row">{{#href}}<a class="account-link" href="{{href}}">{{id}}</a>{{/href}}{{^href}}{{id}}{{/href}}</th>
<td class="num">{{exchanges}}</td><td class="num">{{outputTokens}}</td><td class="num">{{spend}}</td>
<td>{{thresholds}}</td><td>{{purpose}}</td>
<td><span class="{{badge.cls}}">{{badge.text}}</span> {{score}}</td>
<td>{{signals}}</td>
<td>{{campaign}}</td>
<td>{{disposition}}{{#signedOff}}<br><span class="meta">{{signedOff}}</span>{{/signedOff}}
{{#form}}<form method="post" action="{{action}}" class="signoff">
<input type="hidden" name="csrf" value="{{csrf}}">
<input type="hidden" name="account_id" value="{{id}}">
<input type="hidden" name="from" value="{{from}}"><input type="hidden" name="to" value="{{to}}">
<label for="d-{{rowID}}">Disposition</label>
<select id="d-{{rowID}}" name="disposition">{{#dispositions}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{text}}</option>{{/dispositions}}</select>
<label for="n-{{rowID}}">Note</label><input id="n-{{rowID}}" name="note" maxlength="2000">
<button type="submit">Sign off</button>
</form>{{/form}}</td>
</tr>{{/rows}}</tbody>
</table></div>
{{#pager}}<nav class="pager" aria-label="Screening pages">{{#previous}}<a href="{{previous}}" rel="prev">Previous page</a>{{/previous}} {{#next}}<a href="{{next}}" rel="next">Next page</a>{{/next}}</nav>{{/pager}}
{{/empty(rows)}}
{{#empty(rows)}}<p>No account reached a threshold in this period.</p>{{/empty(rows)}}
</section>
"""#

    static let reportIntro = #"""
<h1>DistillWatch report</h1>
<p class="meta">{{intro}}</p>
<nav aria-label="Report sections"><ul class="toc">
<li><a href="#overview-section">Overview</a></li>
{{#campaigns}}<li><a href="#{{anchor}}">Campaign {{id}}</a></li>{{/campaigns}}
{{#accountCount}}<li><a href="#accounts-section">Accounts ({{accountCount}})</a></li>{{/accountCount}}
</ul></nav>
"""#

    static let all: [String: String] = [
        "layout": layout, "overview": overview, "campaignRow": campaignRow, "accountRow": accountRow, "memberRow": memberRow,
        "stats": stats, "labels": labels, "campaigns": campaigns, "signals": signals, "capabilities": capabilities,
        "campaign": campaign, "account": account, "search": search, "login": login, "message": message,
        "screening": screening, "screeningReport": screeningReport, "reportIntro": reportIntro, "provenance": provenance,
        "runs": runs, "run": run, "campaignHead": campaignHead, "accountHead": accountHead,
    ]
}
