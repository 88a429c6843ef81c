// The console's words in Chinese and English, side by side, and how dates are shown
// (Beijing time, as the offices keep it). Names that come with the data (categories,
// services, offices) come from the API in both languages and are not repeated here.

const LABELS = {
  zh: {
    app_title: "政务助手 · 工作人员控制台",
    document_title: "工作人员控制台 · 政务助手",
    skip_to_main: "跳到主要内容",
    other_language: "English",
    sign_out: "退出登录",
    nav_label: "控制台栏目",
    nav_reports: "诉求",
    nav_applications: "办件",
    nav_dashboard: "统计",
    signin_title: "工作人员登录",
    signin_help: "请输入工作人员令牌（与平台接口的令牌相同）。令牌只保存在本浏览器标签页中，关闭即失效。",
    signin_token: "工作人员令牌",
    signin_submit: "登录",
    signin_checking: "正在验证……",
    signin_missing: "请输入令牌。",
    signin_invalid: "令牌无效，请检查后重试。",
    session_ended: "登录已失效，请重新输入令牌。",
    network_error: "无法连接平台，请稍后再试。",
    generic_error: "操作未成功：",
    loading: "正在加载……",
    any: "全部",
    filter: "筛选",
    previous: "上一页",
    next: "下一页",
    page_of: "第 {page} / {pages} 页，共 {total} 条",
    nothing_found: "没有符合条件的记录。",
    close: "关闭",
    open_record: "查看 {id}",
    none: "无",
    yes: "是",
    no: "否",
    status: "状态",
    note: "说明",
    time: "时间",
    round: "轮次",
    stage: "阶段",
    // reports
    reports_title: "市民诉求",
    reports_caption: "诉求列表，最新的在前",
    category: "类别",
    overdue_filter: "是否逾期",
    overdue_only: "仅逾期",
    not_overdue: "未逾期",
    overdue: "已逾期",
    complaint_id: "诉求编号",
    office: "承办单位",
    filed: "受理时间",
    response_due: "答复期限",
    report: "诉求",
    request_type: "诉求类型",
    channel: "渠道",
    occurred_at: "发生时间",
    satisfaction: "评价",
    description: "诉求内容",
    location: "位置",
    region_code: "行政区划代码",
    address: "地址",
    coordinates: "坐标",
    photos: "照片",
    photo_n: "照片 {n}",
    contact: "联系方式",
    anonymous: "匿名反映",
    name: "姓名",
    phone: "电话",
    email: "邮箱",
    updates: "办理记录",
    add_update: "添加办理进展",
    new_status: "新状态",
    update_note: "说明（将告知市民）",
    update_notifies: "保存后将通知反映人。",
    save_update: "保存进展",
    update_saved: "已保存，反映人将收到通知。",
    no_more_updates: "该诉求已办结，不能再更新。",
    illegal_transition_report: "该诉求当前状态不能改为所选状态，可能刚被他人更新。已刷新为最新状态，请重新选择。",
    missing_note: "关闭尚未答复的诉求时，请在说明中写明原因。",
    choose_status: "请选择新状态。",
    // applications
    applications_title: "办件",
    applications_caption: "办件列表，最新的在前",
    service: "事项",
    service_id: "事项编码",
    application_id: "办件编号",
    region: "地区",
    delivery: "送达方式",
    expected_completion: "承诺办结日期",
    application: "办件",
    applicant: "申请人",
    id_number: "身份证号",
    conversation: "会话",
    history: "办理历程",
    transition: "变更状态",
    transition_note: "说明（将告知申请人）",
    transition_notifies: "保存后将通知申请人。",
    save_transition: "保存状态",
    transition_saved: "已保存，申请人将收到通知。",
    no_more_transitions: "该办件已结束，不能再变更状态。",
    illegal_transition_application: "该办件当前状态不能改为所选状态，可能刚被他人更新。已刷新为最新状态，请重新选择。",
    // dashboard
    dashboard_title: "统计",
    period: "统计期间",
    last_days: "最近 {days} 天",
    range: "{from} 至 {to}（北京时间）受理的记录",
    kpi_reports: "诉求总数",
    kpi_on_time: "按时答复率",
    kpi_satisfaction: "满意率",
    kpi_applications: "办件总数",
    chart_category: "按类别的诉求量",
    chart_region: "按承办地区的诉求量",
    chart_response: "答复时效",
    chart_satisfaction: "市民评价",
    chart_applications: "办件状态",
    no_data: "暂无数据",
    rate_of: "{rate}（共 {count} 件）",
    response_definition:
      "按时：本轮首次“已答复”或“已办结”记录的北京日期不晚于答复期限；超时：晚于期限；逾期：尚未答复且已过期限；未到期：尚未答复、未过期限。按时答复率 = 按时 ÷（按时 + 超时 + 逾期）。",
    satisfaction_definition: "满意率 =（满意 + 基本满意）÷ 已评价诉求数，按每件诉求的最近一次评价计。",
  },
  en: {
    app_title: "Zhengwu Assistant · Staff console",
    document_title: "Staff console · Zhengwu Assistant",
    skip_to_main: "Skip to main content",
    other_language: "中文",
    sign_out: "Sign out",
    nav_label: "Console sections",
    nav_reports: "Reports",
    nav_applications: "Applications",
    nav_dashboard: "Dashboard",
    signin_title: "Staff sign-in",
    signin_help:
      "Enter the staff token (the same token as the platform's API). It is kept only in this browser tab and forgotten when the tab closes.",
    signin_token: "Staff token",
    signin_submit: "Sign in",
    signin_checking: "Checking…",
    signin_missing: "Please enter the token.",
    signin_invalid: "That token is not valid. Please check it and try again.",
    session_ended: "Your session has ended. Please enter the token again.",
    network_error: "The platform cannot be reached just now. Please try again shortly.",
    generic_error: "That did not work: ",
    loading: "Loading…",
    any: "Any",
    filter: "Filter",
    previous: "Previous",
    next: "Next",
    page_of: "Page {page} of {pages}, {total} in all",
    nothing_found: "Nothing matches these filters.",
    close: "Close",
    open_record: "Open {id}",
    none: "None",
    yes: "Yes",
    no: "No",
    status: "Status",
    note: "Note",
    time: "Time",
    round: "Round",
    stage: "Stage",
    reports_title: "Public reports",
    reports_caption: "Reports, newest first",
    category: "Category",
    overdue_filter: "Overdue",
    overdue_only: "Overdue only",
    not_overdue: "Not overdue",
    overdue: "Overdue",
    complaint_id: "Report number",
    office: "Office",
    filed: "Filed",
    response_due: "Response due",
    report: "Report",
    request_type: "Request type",
    channel: "Channel",
    occurred_at: "Occurred",
    satisfaction: "Rating",
    description: "Description",
    location: "Location",
    region_code: "Division code",
    address: "Address",
    coordinates: "Coordinates",
    photos: "Photos",
    photo_n: "Photo {n}",
    contact: "Contact",
    anonymous: "Anonymous report",
    name: "Name",
    phone: "Phone",
    email: "Email",
    updates: "Updates",
    add_update: "Add an update",
    new_status: "New status",
    update_note: "Note (the reporter will see it)",
    update_notifies: "The reporter is notified when you save.",
    save_update: "Save update",
    update_saved: "Saved. The reporter will be notified.",
    no_more_updates: "This report is closed; it cannot be updated any more.",
    illegal_transition_report:
      "This report cannot move to that status from where it is now; someone may have just updated it. It has been reloaded: please choose again.",
    missing_note: "Closing a report the office has not responded to needs a note saying why.",
    choose_status: "Please choose the new status.",
    applications_title: "Applications",
    applications_caption: "Applications, newest first",
    service: "Service",
    service_id: "Service id",
    application_id: "Application number",
    region: "Region",
    delivery: "Delivery",
    expected_completion: "Expected completion",
    application: "Application",
    applicant: "Applicant",
    id_number: "ID number",
    conversation: "Conversation",
    history: "History",
    transition: "Change status",
    transition_note: "Note (the applicant will see it)",
    transition_notifies: "The applicant is notified when you save.",
    save_transition: "Save status",
    transition_saved: "Saved. The applicant will be notified.",
    no_more_transitions: "This application has ended; its status cannot change any more.",
    illegal_transition_application:
      "This application cannot move to that status from where it is now; someone may have just changed it. It has been reloaded: please choose again.",
    dashboard_title: "Dashboard",
    period: "Period",
    last_days: "Last {days} days",
    range: "Records filed from {from} to {to} (Beijing time)",
    kpi_reports: "Reports",
    kpi_on_time: "Answered on time",
    kpi_satisfaction: "Satisfaction",
    kpi_applications: "Applications",
    chart_category: "Reports by category",
    chart_region: "Reports by office region",
    chart_response: "Response times",
    chart_satisfaction: "Reporters' ratings",
    chart_applications: "Applications by status",
    no_data: "No data",
    rate_of: "{rate} (of {count})",
    response_definition:
      "On time: the first 'responded' or 'closed' update of the report's current round falls, in Beijing time, on or before its response day; late: after it; overdue: not answered and past its response day; pending: not answered, not yet due. On-time rate = on time ÷ (on time + late + overdue).",
    satisfaction_definition:
      "Satisfaction = (satisfied + basically satisfied) ÷ rated reports, counting each report's latest rating.",
  },
};

// Statuses, stages, ratings and the like, by their codes.
const CODES = {
  zh: {
    complaint_status: { open: "已受理", dispatched: "已派单", in_progress: "办理中", responded: "已答复", closed: "已办结" },
    application_status: {
      received: "已受理",
      supplement_required: "待补正",
      in_review: "审查中",
      approved: "已批准",
      rejected: "不予批准",
      ready_for_collection: "待领取",
      completed: "已办结",
    },
    stage: { reception: "综合受理", approval: "分类审批", completion: "统一出件" },
    rating: { satisfied: "满意", basically_satisfied: "基本满意", dissatisfied: "不满意" },
    outcome: { on_time: "按时答复", late: "超时答复", overdue: "逾期未答复", pending: "未到期" },
    delivery: { window: "窗口领取", mail: "邮寄", electronic: "电子证照" },
  },
  en: {
    complaint_status: {
      open: "Open",
      dispatched: "Dispatched",
      in_progress: "In progress",
      responded: "Responded",
      closed: "Closed",
    },
    application_status: {
      received: "Received",
      supplement_required: "Supplement required",
      in_review: "In review",
      approved: "Approved",
      rejected: "Rejected",
      ready_for_collection: "Ready for collection",
      completed: "Completed",
    },
    stage: { reception: "Reception", approval: "Approval", completion: "Completion" },
    rating: { satisfied: "Satisfied", basically_satisfied: "Basically satisfied", dissatisfied: "Dissatisfied" },
    outcome: { on_time: "On time", late: "Late", overdue: "Overdue", pending: "Pending" },
    delivery: { window: "At the window", mail: "By mail", electronic: "Electronic" },
  },
};

const LANG_KEY = "zw-console-lang";
let current = initialLang();

function initialLang() {
  const kept = localStorage.getItem(LANG_KEY);
  if (kept === "zh" || kept === "en") return kept;
  return (navigator.language || "zh").toLowerCase().startsWith("zh") ? "zh" : "en";
}

export function lang() {
  return current;
}

export function setLang(wanted) {
  current = wanted === "en" ? "en" : "zh";
  localStorage.setItem(LANG_KEY, current);
}

/** The label `key` in the current language, with {placeholders} filled from `fields`. */
export function t(key, fields = {}) {
  const text = LABELS[current][key] ?? LABELS.zh[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (whole, name) => (name in fields ? String(fields[name]) : whole));
}

/** The name of a code of `kind` (complaint_status, application_status, stage, rating, outcome, delivery). */
export function codeName(kind, code) {
  return CODES[current][kind]?.[code] ?? code;
}

/** A name the API gives as {zh, en}. */
export function localName(names, fallback = "") {
  if (!names) return fallback;
  return names[current] || names.zh || fallback;
}

/** Set every fixed text of the page: [data-i18n] text, [data-i18n-aria-label] labels. */
export function applyLabels(root = document) {
  document.documentElement.lang = current === "zh" ? "zh-CN" : "en";
  document.title = t("document_title");
  for (const node of root.querySelectorAll("[data-i18n]")) node.textContent = t(node.dataset.i18n);
  for (const node of root.querySelectorAll("[data-i18n-aria-label]")) {
    node.setAttribute("aria-label", t(node.dataset.i18nAriaLabel));
  }
}

const OFFICE_ZONE = "Asia/Shanghai";

/** "2026-11-26 09:30" in Beijing time, from an ISO time; "" for none. */
export function formatTime(iso) {
  if (!iso) return "";
  const at = new Date(iso);
  if (Number.isNaN(at.getTime())) return iso;
  const parts = new Intl.DateTimeFormat("en-GB", {
    timeZone: OFFICE_ZONE,
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    hourCycle: "h23",
  }).formatToParts(at);
  const part = (type) => parts.find((item) => item.type === type)?.value ?? "";
  return `${part("year")}-${part("month")}-${part("day")} ${part("hour")}:${part("minute")}`;
}

/** A share from 0 to 1 as a percentage, "—" when there is none. */
export function formatRate(rate) {
  if (rate === null || rate === undefined) return "—";
  return `${(rate * 100).toFixed(1)}%`;
}
