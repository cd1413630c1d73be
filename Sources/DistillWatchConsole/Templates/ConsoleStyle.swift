/// The console's one stylesheet: served at `/console/assets/console.css` and inlined in
/// HTML reports. System fonts, no web fonts or images; contrast at least 4.5:1 for text;
/// verdicts carry their name as text, the colour only repeats it.
enum ConsoleStyle {
    static let css = """
    :root{--fg:#1b1f24;--muted:#4a5360;--bg:#ffffff;--panel:#f4f6f8;--line:#c9d1d9;--accent:#0b57d0;--bar:#3b6fb6;--marker:#b3261e}
    *{box-sizing:border-box}
    body{margin:0;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:var(--fg);background:var(--bg)}
    a{color:var(--accent)}
    a:focus,button:focus,input:focus,select:focus,textarea:focus{outline:3px solid #ffbf47;outline-offset:1px}
    .visually-hidden{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
    .skip{position:absolute;left:-9999px}.skip:focus{left:8px;top:8px;background:#fff;padding:4px 8px;z-index:2}
    header.top{display:flex;flex-wrap:wrap;gap:12px;align-items:center;padding:8px 16px;background:#1b1f24;color:#fff}
    header.top a{color:#fff}header.top .brand{font-weight:700;margin-right:12px}
    header.top nav ul{display:flex;flex-wrap:wrap;gap:14px;list-style:none;margin:0;padding:0}
    header.top a[aria-current=page]{text-decoration:underline;text-decoration-thickness:3px;font-weight:600}
    header.top form{display:flex;gap:6px;align-items:center;margin:0}
    header.top label{font-size:13px}
    header.top input{width:16em;max-width:60vw}
    main{padding:16px 24px;max-width:1280px}
    h1{font-size:24px;margin:8px 0}h2{font-size:19px;margin:24px 0 8px}
    .meta{color:var(--muted)}
    .id{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;word-break:break-all}
    ul.stats{display:flex;flex-wrap:wrap;gap:10px;margin:8px 0;padding:0;list-style:none}
    ul.stats li{background:var(--panel);border:1px solid var(--line);border-radius:6px;padding:6px 10px;min-width:9em}
    ul.stats .stat-name{display:block;font-size:12px;color:var(--muted)}ul.stats .stat-value{display:block;font-weight:600;word-break:break-word}
    table{border-collapse:collapse;width:100%;margin:8px 0}
    table.compact{width:auto}
    caption{text-align:left;font-weight:600;padding:4px 0}
    th,td{border-bottom:1px solid var(--line);padding:4px 8px;text-align:left;vertical-align:top}
    th[scope=row]{font-weight:500;word-break:break-all}th.signal{word-break:normal;white-space:nowrap}
    .num{text-align:right;font-variant-numeric:tabular-nums}
    .scroll{overflow-x:auto}
    .badge{display:inline-block;border-radius:4px;padding:0 6px;font-size:13px;font-weight:600;border:1px solid currentColor}
    .verdict-allow{color:#1e5e2f;background:#e6f4ea}.verdict-review{color:#7a4b00;background:#fff4d6}
    .verdict-throttle{color:#8a3b00;background:#ffe6d5}.verdict-block{color:#8c1d18;background:#fde7e7}.verdict-none{color:#4a5360;background:#f4f6f8}
    .tag{font-size:12px;color:var(--muted)}
    tr.contributes th{font-weight:700}
    figure{margin:8px 0}figcaption{color:var(--muted);font-size:13px}
    svg.chart{width:100%;height:auto;max-width:900px;background:#fff;border:1px solid var(--line);border-radius:6px}
    svg .bar{fill:var(--bar)}svg .axis{stroke:#4a5360}svg .grid{stroke:#dde3ea;stroke-dasharray:3 3}
    svg .tick,svg .node-label,svg .marker-label{font:12px system-ui,sans-serif;fill:#1b1f24}
    svg .marker{stroke:var(--marker);stroke-width:2;stroke-dasharray:4 2}svg .marker-label{fill:var(--marker);font-weight:600}
    svg .edge{stroke:#7d8da1;stroke-width:1}svg .node-account{fill:var(--bar)}svg .node-evidence{fill:var(--marker)}
    svg.share{width:200px;height:12px}svg .share-track{fill:#e3e8ee}
    form.actions{background:var(--panel);border:1px solid var(--line);border-radius:6px;padding:10px;margin:12px 0;max-width:720px}
    form.actions label{display:block;font-weight:600}form.actions textarea{width:100%}
    .buttons{display:flex;flex-wrap:wrap;gap:8px;margin-top:8px}
    button{font:inherit;padding:4px 12px;border:1px solid #4a5360;border-radius:4px;background:#fff;color:#1b1f24;cursor:pointer}
    #confirm-campaign,#confirm-account{background:#8c1d18;color:#fff;border-color:#8c1d18}
    form.filters{display:flex;flex-wrap:wrap;gap:8px;align-items:center;margin:8px 0}
    form.signoff{display:grid;gap:2px;margin-top:4px}form.signoff label{font-size:12px}
    form.login{display:grid;gap:6px;max-width:360px}
    .flash{background:#e6f4ea;border:1px solid #1e5e2f;padding:6px 10px;border-radius:4px}
    .error{background:#fde7e7;border:1px solid #8c1d18;padding:6px 10px;border-radius:4px}
    ul.evidence li{margin:2px 0}ul.toc{columns:2}
    nav.pager{display:flex;gap:16px;margin:8px 0}
    .report section.entity{border-top:2px solid var(--line);margin-top:24px}
    footer{padding:8px 24px;color:var(--muted);font-size:13px}
    .report-title{color:#fff}
    @media (max-width:700px){main{padding:8px}header.top input{width:10em}ul.stats li{min-width:45%}}
    """
}
