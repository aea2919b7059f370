"""Build tests/eval/corpus/long_mail.csv from the hand-written mails in en.txt and zh.txt.
Each mail: '@ topic|product|footer|note', 'S: subject', 'B: body...', optional 'N: note'.
Placeholders {sid} {tid} {inv} {acct} get made-up ids; a footer of the given style is appended."""
import csv, random, re, uuid
from pathlib import Path

HERE = Path(__file__).parent
rng = random.Random(20260611)

FOOT = {
 ("en", "bill"): [
  "This is a required notice about your Microsoft billing account. Replies to this address aren't monitored.\nPrivacy Statement\nMicrosoft Corporation, One Microsoft Way, Redmond, WA 98052 USA",
  "You're getting this message because you're listed as a billing administrator. It's a mandatory service communication, so you can't opt out of it.\nRead the Microsoft Privacy Statement to learn how we handle your data.\nMicrosoft Corporation, One Microsoft Way, Redmond, WA 98052",
  "Please don't reply to this email; the mailbox isn't monitored. For billing help, go to Help & support in your admin center.\nMicrosoft cares about your privacy – see our Privacy Statement.\nMicrosoft Corporation | One Microsoft Way | Redmond, WA 98052 | USA"],
 ("en", "svc"): [
  "Help and support: get answers from the community in Microsoft Q&A, or open a support request if you have a support plan.\nThis mandatory service email is about a product or service your organization uses. Privacy Statement\nMicrosoft Corporation, One Microsoft Way, Redmond, WA 98052",
  "Account information\nSubscription ID: {sid}\nThis email relates to a service you bought or use, so we send it even if you've opted out of promotional mail. Privacy Statement | Contact preferences\nMicrosoft Corporation, One Microsoft Way, Redmond, WA 98052 USA",
  "Tell us what you think of this email in a two-question survey.\nWe send service notices like this one to keep you informed about your products; you can't unsubscribe from them. Microsoft Privacy Statement\nMicrosoft Corporation, One Microsoft Way, Redmond, WA 98052"],
 ("en", "mc"): [
  "Open this post in your admin center.\nYou get this email because your organization subscribes to Message center updates. Admins are subscribed by default and can turn the emails off under Message center > Preferences.\nMandatory service communication. Privacy statement\nMicrosoft Corporation, One Microsoft Way, Redmond, WA 98052 USA",
  "Sent to the admins of your tenant by Microsoft 365 service health. To choose which emails you receive, update your preferences in the admin center.\nYour privacy matters to us – see the online Privacy Statement.\nMicrosoft Corporation, One Microsoft Way, Redmond, WA 98052"],
 ("en", "mkt"): [
  "You're receiving this email because you signed up for news about Microsoft products. Unsubscribe | Manage communication preferences | Privacy Statement\nMicrosoft Corporation, One Microsoft Way, Redmond, WA 98052 USA",
  "Don't want these emails? Unsubscribe, or change how often you hear from us in your communication preferences.\nPrivacy Statement | Terms of use | Trademarks\n© Microsoft 2026. Microsoft Corporation, One Microsoft Way, Redmond, WA 98052",
  "This promotional email was sent by Microsoft. If you'd rather not get it, select Unsubscribe. Offers are subject to terms and availability.\nMicrosoft Corporation, One Microsoft Way, Redmond, WA 98052"],
 ("en", "acct"): [
  "Privacy Statement\nMicrosoft Corporation, One Microsoft Way, Redmond, WA 98052",
  "This email was sent from a mailbox that isn't monitored. To learn how we use your data, read our Privacy Statement.\nMicrosoft Corporation, One Microsoft Way, Redmond, WA 98052 USA"],
 ("zh-CN", "bill"): [
  "这是有关你的 Microsoft 计费帐户的必要通知。请勿回复此邮件，此邮箱无人监视。\n隐私声明\nMicrosoft Corporation, One Microsoft Way, Redmond, WA 98052 USA",
  "你收到此邮件是因为你被列为计费管理员。这是强制性服务通信，无法退订。\n请阅读 Microsoft 隐私声明，了解我们如何处理你的数据。\n微软（中国）有限公司  北京市海淀区丹棱街 5 号"],
 ("zh-CN", "svc"): [
  "帮助和支持：可在 Microsoft 问答中向社区专家提问；如果你有支持计划，可以创建支持请求。\n此邮件涉及你的组织购买或使用的服务，属于强制性服务通信。隐私声明\nMicrosoft Corporation, One Microsoft Way, Redmond, WA 98052",
  "帐户信息\n订阅 ID：{sid}\n即使你已选择不接收促销邮件，仍会收到此类服务通知。隐私声明 | 联系首选项\nMicrosoft Corporation, One Microsoft Way, Redmond, WA 98052 USA"],
 ("zh-CN", "mc"): [
  "在管理中心中打开此帖子。\n你收到此邮件是因为你的组织订阅了消息中心更新。管理员默认已订阅，可在“消息中心”>“首选项”中关闭电子邮件。\n强制性服务通信。隐私声明\nMicrosoft Corporation, One Microsoft Way, Redmond, WA 98052 USA"],
 ("zh-CN", "mkt"): [
  "你收到此邮件是因为你订阅了 Microsoft 产品资讯。取消订阅 | 管理通信首选项 | 隐私声明\nMicrosoft Corporation, One Microsoft Way, Redmond, WA 98052 USA",
  "不想再收到此类邮件？请取消订阅，或更改接收频率。\n隐私声明 | 使用条款 | 商标\n© 2026 Microsoft  微软（中国）有限公司  北京市海淀区丹棱街 5 号"],
 ("zh-CN", "acct"): [
  "隐私声明\nMicrosoft Corporation, One Microsoft Way, Redmond, WA 98052",
  "此邮件由无人监视的邮箱发送。若要了解我们如何使用你的数据，请阅读隐私声明。\nMicrosoft Corporation, One Microsoft Way, Redmond, WA 98052 USA"],
}

EXTRA_NOTES = {
 "Your free trial ends in 7 days": "hard: trial ending with a buy call-to-action",
 "你的免费试用将在 7 天后结束": "hard: 试用结束邮件带有购买号召",
 "Your Azure free account credit has expired": "hard: upgrade call-to-action in a subscription-state notice",
 "你的 Azure 免费帐户额度已过期": "hard: 订阅状态通知中的升级号召",
 "Microsoft Defender for Cloud plan charges begin": "hard: security product, billing start after trial",
 "Microsoft Defender for Cloud 计划开始计费": "hard: 安全产品试用结束后开始计费",
 "Copilot Studio: your message capacity is running low": "hard: capacity alert worded like a service outage warning",
 "Copilot Studio：消息容量即将用完": "hard: 容量警报写得像服务中断",
 "Azure OpenAI: billing for provisioned throughput starts 1 June": "hard: preview ending and deployments, content is billing start",
 "Azure OpenAI：预配吞吐量将于 6 月 1 日开始计费": "hard: 预览结束和部署用语，内容是开始计费",
 "Windows 365 trial converted to paid": "hard: trial word in a conversion notice",
 "Windows 365 试用已转换为付费订阅": "hard: 转换通知中出现“试用”",
 "Your Azure reservation expires in 30 days": "hard: VMs keep running; content is reservation expiry",
 "你的 Azure 预留将在 30 天后到期": "hard: 虚拟机继续运行，内容是预留到期",
 "Azure newsletter: what's new in March": "hard: newsletter with GA and pricing items",
 "Azure 月刊：3 月新增功能": "hard: 月刊包含正式发布和价格条目",
 "Power Platform monthly update: build faster with Copilot": "hard: feature list ending in a trial offer",
 "Power Platform 月度更新：借助 Copilot 更快构建": "hard: 功能列表以试用优惠结尾",
 "Migrate to Azure with expert help and funding": "hard: migration vocabulary in an offer",
 "借助专家帮助和资金支持迁移到 Azure": "hard: 优惠中使用迁移用语",
 "Windows IT Pro newsletter – September": "hard: newsletter listing update and servicing topics",
 "Windows IT 专业人员月刊 - 9 月": "hard: 月刊列出更新和服务主题",
 "Microsoft Security newsletter: your monthly briefing": "hard: security research and pricing items in a newsletter",
 "Microsoft 安全月刊": "hard: 月刊中含安全研究和价格条目",
 "Microsoft Services Agreement and Privacy Statement update": "hard: 'updating' and effective date in a generic notice",
 "Microsoft 隐私声明更新": "hard: 通用通知中出现“更新”和生效日期",
 "Your support request has been closed": "hard: support-case wording without service change",
 "你的支持请求已关闭": "hard: 支持案例用语，无服务变更",
 "Changes to Microsoft support case notifications": "AMBIGUOUS: sender-address change for support mail; operational (a service change) though close to unknown",
 "Microsoft 支持案例通知的变更": "AMBIGUOUS: 支持邮件发件地址变更；按服务变更 operational 处理，也接近 unknown",
 "Azure Advisor: high-impact recommendations for your subscription": "hard: recommendation digest that is not a sales pitch",
 "Azure 顾问：你的订阅有高影响建议": "hard: 建议摘要，不是推销",
 "Power Apps: your canvas app uses deprecated controls": "",
 "Your Power BI Pro subscription will renew on 15 September": "",
 "Reminder: unlicensed users in your Dynamics 365 environments": "hard: admin-centre report steps in a licence enforcement notice",
 "提醒：你的 Dynamics 365 环境中存在未授权用户": "hard: 许可证强制通知中含管理中心报表步骤",
 "Your SharePoint storage is almost full": "",
 "Welcome to Microsoft": "",
 "Order confirmation": "",
 "Service degradation: Dynamics 365 Finance batch jobs delayed": "hard: finance module words (journals, financial reports) in an incident",
 "服务降级：Dynamics 365 Finance 批处理作业延迟": "hard: 事件中出现财务模块用语（日记帐、财务报表）",
 "Webinar: cut your cloud costs with Azure FinOps best practices": "hard: webinar about costs and reservations",
 "网络研讨会：借助 Azure FinOps 最佳实践降低云成本": "hard: 关于成本和预留的网络研讨会",
 "Your organisation name has been changed": "",
}

def fill(text):
    text = text.replace("{sid}", lambda_sid()) if "{sid}" in text else text
    text = text.replace("{tid}", str(uuid.UUID(int=rng.getrandbits(128))))
    text = text.replace("{inv}", rng.choice(["G0", "E0", "H0"]) + str(rng.randrange(10**8, 10**9)))
    text = text.replace("{acct}", "-".join(rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ23456789") * 0 + "".join(rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ23456789") for _ in range(4)) for _ in range(4)))
    return text

_sid = {}
def lambda_sid():
    return _sid.setdefault("cur", str(uuid.UUID(int=rng.getrandbits(128))))

def parse(path, lang):
    rows, cur = [], None
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("@ "):
            if cur: rows.append(cur)
            topic, product, footer, note = (line[2:].split("|") + [""])[:4]
            cur = dict(language=lang, topic=topic, product=product, footer=footer, note=note.strip(), subject="", body=[], drop=False, inbody=False)
        elif cur is None:
            continue
        elif line.startswith("S2:"):
            cur["drop"] = True
        elif line.startswith("S: "):
            cur["subject"] = line[3:].strip(); cur["inbody"] = False
        elif line.startswith("N: "):
            cur["note"] = line[3:].strip(); cur["inbody"] = False
        elif line.startswith("B: "):
            cur["body"].append(line[3:]); cur["inbody"] = True
        elif cur["inbody"] and line.strip():
            cur["body"].append(line)
    if cur: rows.append(cur)
    return [r for r in rows if not r["drop"]]

rows = parse(HERE / "en.txt", "en") + parse(HERE / "zh.txt", "zh-CN")
out = []
for i, r in enumerate(rows, 1):
    _sid.clear()
    core = fill("\n".join(r["body"]).strip())
    lo, hi = (300, 900) if r["language"] == "en" else (200, 600)
    opts = [fill(f) for f in FOOT[(r["language"], r["footer"])]]
    rng.shuffle(opts)
    fits = [f for f in opts if lo <= len(core) + 2 + len(f) <= hi]
    foot = fits[0] if fits else (min(opts, key=len) if len(core) + 2 + min(map(len, opts)) > hi else max(opts, key=len))
    note = r["note"] or EXTRA_NOTES.get(r["subject"], "")
    sep = "\n\n"
    out.append(dict(id=f"lml-{i:04d}", language=r["language"], source_kind="email_full", subject=r["subject"],
                    body=core + sep + foot, topic=r["topic"], product=r["product"], note=note))
dest = HERE.parent / "tests/eval/corpus/long_mail.csv"
with dest.open("w", encoding="utf-8", newline="") as f:
    w = csv.DictWriter(f, fieldnames=["id", "language", "source_kind", "subject", "body", "topic", "product", "note"])
    w.writeheader(); w.writerows(out)
print(len(out), "rows ->", dest)
