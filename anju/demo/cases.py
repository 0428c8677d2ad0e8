"""A year of cases for the demo district, stored through the cases app's bulk action.

Cases arrive over the year back from now with a district's rhythm: sanitation, parking, noise, property,
dogs, disputes and fire hazards most of all; noise and rubbish peak in summer; few cases in the Spring
Festival week, at weekends and at night, except for noise. Grid workers report 45% in the field, residents
25% online, the hotline 20%, outside systems (Open311, the API) the rest. Each case is a random point in a
grid, with a description written from its category's templates.

Then each case lives: a policy decides what the desk, the unit, the checker and the reporter do next and
when (mostly within the stage's limit, sometimes late, now and then a rejection, a summons, an escalation,
an extension, a suspension, a rework), and `History` applies each step as the actions would, with the
supervision sweep carding and escalating late cases on time. Everything stops at now: old cases are closed
or rejected, recent ones wait in every state. A few scripted cases in 贮水山社区 give each demo account
something to act on. Deterministic for a seed, except the reporters' secret links.
"""

import math
import random
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import numpy as np
from django.utils import timezone

from anju.cases import routing
from anju.cases.actions import bulk
from anju.cases.actions.ratings import RATING_DAYS
from anju.cases.actions.setup import set_members
from anju.cases.models import STAGE_OF, Case, Channel, Rating, State, Supervision, Unit, UnitKind, UnitMember
from anju.cases.queries import leaf_categories
from anju.core import workcalendar
from anju.core.roles import Role
from anju.demo import residents
from anju.demo.names import mobile, person_name
from anju.geo.locate import grid_index
from anju.geo.models import Division, Grid

SEED = 370203
BATCH = 5000
NOTE = "demo: generated cases"
# Cases a year for each resident generated: 6,000 for the default 50,000.
PER_RESIDENT = 0.12

# Relative frequency of each category (codes of cases/data/categories.json).
CATEGORY_WEIGHTS = {
    "0101": 2, "0102": 1, "0103": 0.3, "0104": 1.5,
    "0201": 6, "0202": 2.5, "0203": 4, "0204": 1,
    "0301": 4, "0302": 6, "0303": 1, "0304": 2,
    "0401": 7, "0402": 3, "0403": 3,
    "0501": 4, "0502": 3, "0503": 0.5,
    "0601": 12, "0602": 5, "0603": 4, "0604": 0.8,
    "0701": 2.5, "0702": 1, "0703": 2, "0704": 1.5,
    "0801": 2, "0802": 1,
    "0901": 10, "0902": 2, "0903": 1,
    "1001": 5, "1002": 1.5, "1003": 4,
    "1101": 1, "1102": 1.2, "1103": 0.5,
    "1201": 1.5, "1202": 1, "1203": 1,
    "1301": 3.5, "1302": 0.8,
    "1401": 2, "1402": 2,
}  # fmt: skip
CHANNELS = (
    (Channel.FIELD, 0.45),
    (Channel.RESIDENT, 0.25),
    (Channel.HOTLINE, 0.20),
    (Channel.OPEN311, 0.06),
    (Channel.API, 0.04),
)
# Category groups (first two digits) that peak in summer; categories reported mostly in the evening.
SUMMER = ("04", "06")
EVENING = ("0401", "0403", "0501")
# Chinese New Year's Day; the week around it is quiet.
SPRING_FESTIVAL = (date(2025, 1, 29), date(2026, 2, 17), date(2027, 2, 6), date(2028, 1, 26), date(2029, 2, 13))
# Reports per hour of the day (local time): field work, the public, and evening complaints.
HOURS_FIELD = (0, 0, 0, 0, 0, 0, 0.2, 1, 3, 4, 4, 3, 1.5, 2.5, 3.5, 3.5, 3, 2, 0.8, 0.3, 0.1, 0, 0, 0)
HOURS_PUBLIC = (
    0.3, 0.2, 0.1, 0.1, 0.1, 0.3, 0.8, 1.5, 2.5, 3, 3, 2.5, 2, 2.2, 2.5, 2.5, 2.3, 2.2, 2.2, 2.3, 2, 1.5, 1, 0.6,
)  # fmt: skip
HOURS_EVENING = (
    1.5, 1, 0.6, 0.3, 0.2, 0.2, 0.4, 1, 1.5, 1.5, 1.5, 1.3, 1.2, 1.2, 1.3, 1.3, 1.3, 1.5, 2, 2.5, 3, 3.5, 3.5, 2.5,
)  # fmt: skip
# With `around_demo`, this share of the cases falls in the demo grid, the rest of its community, the rest
# of its street; the remainder over the district by households.
AROUND_DEMO = (0.03, 0.09, 0.18)

# How often things happen.
ON_TIME = {"desk": 0.992, "handle": 0.95}
REJECT_INVALID = 0.03
DUPLICATE = 0.2
DUPLICATE_DAYS = 7
RATED = 0.85
# Share of a category group's cases that the desk hands to a district department rather than its own staff.
TO_DEPARTMENT = {
    "01": 0.5, "02": 0.1, "03": 0.3, "04": 0.4, "05": 0.4, "06": 0.15, "07": 0.9,
    "08": 0.8, "09": 0.35, "10": 0.4, "11": 0.05, "12": 0.9, "13": 0.5, "14": 0.05,
}  # fmt: skip
# Groups whose cases may need departments summoned, be escalated by hand, or wait (suspended).
SUMMONED = ("01", "03", "06", "07", "08", "10", "12", "13")
HARD = ("0201", "0203", "0204", "0801", "0802", "1001", "1203")
SUSPENDABLE = ("02", "08", "10", "12")
# A department passes a case on to another when it is not its job.
PASS_ON = {
    "urban_management": "housing",
    "housing": "urban_management",
    "police": "urban_management",
    "market": "urban_management",
    "fire": "emergency",
    "civil_affairs": "human_resources",
}

ROADS = residents.ROADS
ESTATES = [h + t for h in residents.ESTATE_HEADS for t in residents.ESTATE_TAILS]
TEMPLATES = {
    "0101": [
        "{place}附近连续几天有陌生人在楼道里逐户查看门牌，形迹可疑，请核实。",
        "{place}有人深夜在小区里拉车门把手，居民担心是盗窃车内财物。",
        "{place}一处出租屋近期人员进出频繁，夜间常有多人聚集，请民警关注。",
    ],
    "0102": [
        "{place}小区门口的监控摄像头已经坏了{n}天，画面一直黑屏。",
        "{place}单元门禁系统损坏，门一直关不上，外来人员可以随意进出。",
    ],
    "0103": [
        "{place}一楼商铺晚上关门后里面有人聚众打牌，疑似赌博。",
        "{place}一家足疗店深夜仍有人员出入，群众反映可能存在违法经营。",
    ],
    "0104": [
        "{place}一套出租房被隔成{n}间分租，住了十几个人，楼道堆满杂物。",
        "{place}群租房私拉电线给电动车充电，存在火灾隐患。",
    ],
    "0201": [
        "{place}楼上住户长期在夜间拖动家具、跺脚，楼下老人无法休息，双方多次争吵。",
        "{place}邻居在公共楼道堆放杂物和鞋柜，协商无果，请社区协调。",
        "{place}楼上卫生间漏水到楼下，楼上住户拒绝维修，双方发生争执。",
    ],
    "0202": [
        "{place}一户居民因赡养老人问题兄弟之间发生争执，老人请求社区帮助调解。",
        "{place}一对夫妻因家庭琐事经常吵架，邻居反映昨晚争吵激烈，担心发生意外。",
    ],
    "0203": [
        "{place}物业公司未经业主大会同意上调物业费，多名业主拒交，双方僵持。",
        "{place}小区电梯维修费用分摊问题业主与物业协商不成，请求调解。",
    ],
    "0204": [
        "{place}一家装修公司拖欠{n}名工人工资两个多月，工人聚集讨薪。",
        "{place}一家餐馆停业后未结清员工工资，员工多次联系老板无果。",
    ],
    "0301": [
        "{place}消防通道被私家车长期占用，消防车无法通行。",
        "{place}楼前消防通道堆放建筑材料，已有{n}天没有清理。",
    ],
    "0302": [
        "{place}有住户把电动车推进楼道充电，电线从窗户拉下来，存在安全隐患。",
        "{place}单元楼道里停放了{n}辆电动车，晚上还有人在楼道充电。",
    ],
    "0303": [
        "{place}楼道内灭火器过期，消火栓箱门损坏、水带缺失。",
        "{place}高层住宅消防喷淋管道漏水，物业称需要消防部门检查。",
    ],
    "0304": [
        "{place}沿街商户在店门口使用液化气罐烧烤，周边有易燃物。",
        "{place}有居民在楼顶私搭棚子并接电使用电暖器，存在火灾隐患。",
    ],
    "0401": [
        "{place}楼上住户{time}在家唱歌、放音乐，声音很大，影响休息。",
        "{place}广场舞音响音量过大，{time}持续两个多小时，附近居民难以休息。",
        "{place}有住户装修，周末一早就开始电钻作业，噪声扰民。",
    ],
    "0402": [
        "{place}附近工地{time}仍在施工，打桩声很响，居民无法入睡。",
        "{place}道路施工夜间破碎路面，噪声很大，请核查是否办理了夜间施工许可。",
    ],
    "0403": [
        "{place}沿街酒吧{time}音乐声很大，客人在门口喧哗。",
        "{place}一家超市门口的喇叭循环播放促销广告，声音刺耳。",
    ],
    "0501": [
        "{place}一户居民养的狗{time}狂吠不止，多次沟通无效。",
        "{place}有人在楼道内养狗，气味很大，狗在楼道里随地便溺。",
    ],
    "0502": [
        "{place}小区内经常有大型犬不拴绳乱跑，孩子和老人很害怕。",
        "{place}有居民饲养大型犬未办理养犬登记，遛狗时不牵绳。",
    ],
    "0503": [
        "{place}一名居民在小区内被未拴绳的犬只咬伤小腿，已去医院注射疫苗，犬主拒绝承担费用。",
        "{place}一只流浪狗在路边咬伤路人，请尽快处置。",
    ],
    "0601": [
        "{place}垃圾桶已经满溢{n}天没有清运，气味很大，招来很多苍蝇。",
        "{place}路边有人堆放了大量建筑垃圾和旧家具，占用人行道。",
        "{place}垃圾分类投放点周边散落大量垃圾，无人清理。",
    ],
    "0602": [
        "{place}路面有大量泥土和渣土车遗撒物，下雨后一片泥泞。",
        "{place}人行道上一大片油污，行人容易滑倒。",
    ],
    "0603": [
        "{place}楼道墙面和单元门上贴满了开锁、疏通管道的小广告。",
        "{place}电线杆和公交站牌上被喷涂了大量办证电话。",
    ],
    "0604": [
        "{place}附近公共厕所卫生很差，洗手池坏了也没人修。",
        "{place}附近公厕晚上很早就锁门，摊贩和行人如厕困难。",
    ],
    "0701": [
        "{place}路段有{n}盏路灯不亮，晚上漆黑一片，居民出行不安全。",
        "{place}小区门口路灯忽明忽暗，灯杆底部电线裸露。",
    ],
    "0702": [
        "{place}人行道上一处井盖破损塌陷，已有行人崴脚。",
        "{place}路口雨水井盖缺失，只插了一根树枝提示，非常危险。",
    ],
    "0703": [
        "{place}路面出现一个大坑，车辆经过颠簸严重，雨天积水看不到。",
        "{place}人行道地砖大面积松动翘起，老人容易绊倒。",
    ],
    "0704": [
        "{place}下水道堵塞，污水从井口冒出漫到路面。",
        "{place}自来水管道破裂，路面一直在冒水。",
    ],
    "0801": [
        "{place}一楼住户在院内私自搭建彩钢板房，占用公共绿地。",
        "{place}顶楼住户在楼顶加盖房屋，正在施工，请尽快制止。",
    ],
    "0802": [
        "{place}一户住户装修时拆除承重墙，楼下住户发现墙面出现裂缝。",
        "{place}底层商户擅自破墙开门，改变房屋结构。",
    ],
    "0901": [
        "{place}路口有车辆长期停在人行道上，行人只能走机动车道。",
        "{place}小区出入口被私家车堵住，其他车辆无法进出。",
        "{place}有车辆停在消火栓前和公交站台，影响通行。",
    ],
    "0902": [
        "{place}一辆{color}轿车停了{n}个多月没人动过，轮胎已经瘪了，车上落满灰尘。",
        "{place}路边有一辆无牌照的旧面包车长期占用车位。",
    ],
    "0903": [
        "{place}路口红绿灯不亮，车辆和行人通行混乱。",
        "{place}交通标志牌被撞歪，隔离护栏倒在路边。",
    ],
    "1001": [
        "{place}小区物业长期不清扫楼道，绿化无人养护，业主多次反映无果。",
        "{place}小区门禁卡办理收费过高，物业服务态度差。",
    ],
    "1002": [
        "{place}电梯经常停运，今天又有人被困在电梯里{n}十分钟。",
        "{place}电梯运行时异响、抖动明显，居民担心安全，物业一直不维修。",
    ],
    "1003": [
        "{place}楼顶防水层老化，下雨时顶楼住户家中漏水严重。",
        "{place}单元楼道窗户玻璃破碎，楼梯扶手松动，物业迟迟不修。",
    ],
    "1101": [
        "{place}一户居民家中主要劳动力因病失去工作，生活困难，想了解低保怎么申请。",
        "{place}一位独自抚养孩子的居民经济困难，请社区帮助申请临时救助。",
    ],
    "1102": [
        "{place}一位独居老人已经{n}天没有出门，邻居敲门无人应答，请社区上门查看。",
        "{place}独居老人家中燃气灶老化，老人行动不便，希望社区帮助联系更换。",
    ],
    "1103": [
        "{place}一名肢体残疾居民希望办理家庭无障碍设施改造。",
        "{place}一户残疾人家庭咨询护理补贴申请，需要社区协助准备材料。",
    ],
    "1201": [
        "{place}一家早餐店卫生条件差，后厨有老鼠，食材随地堆放。",
        "{place}路边流动摊贩售卖无包装熟食，没有任何证照。",
    ],
    "1202": [
        "{place}居民楼内有人开设无证托管班，接送孩子的人很多。",
        "{place}一家维修店没有营业执照，在人行道上占道维修。",
    ],
    "1203": [
        "{place}一家健身房突然关门，会员预付费无法退还。",
        "{place}超市商品标价与结算价格不一致，多收了钱，商家拒绝退还。",
    ],
    "1301": [
        "{place}早市摊贩占用人行道和机动车道摆摊，早上交通拥堵。",
        "{place}水果店把货架摆到店外人行道上，行人无法通行。",
    ],
    "1302": [
        "{place}商户在楼体外墙私设大型广告牌，固定不牢，大风天容易坠落。",
        "{place}路边私设的广告灯箱破损，电线外露。",
    ],
    "1401": [
        "建议在{place}增设一处非机动车停放点，方便居民出行。",
        "咨询{place}一带老旧小区改造的时间安排。",
        "建议在{place}的小区增加一些休闲座椅和健身器材。",
    ],
    "1402": [
        "{place}附近有树枝被风刮断挂在电线上，存在安全隐患。",
        "{place}一处废弃报刊亭长期闲置，周边堆满杂物。",
    ],
}
TAILS = ("", "", "", "请尽快处理。", "已经反映过一次，还没有解决。", "希望有关部门尽快处理。", "附近居民意见很大。")
TIMES = ("晚上十点以后", "凌晨一两点", "每天早上六点", "中午休息时间", "每天晚上")
COLOURS = ("白色", "黑色", "银色", "红色")
# What the unit reports back, by category group.
RESULTS = {
    "01": ("已会同社区民警上门核查，情况已登记并纳入日常巡查。", "已联系物业修复设备，现已恢复正常。"),
    "02": ("已组织双方当面调解，达成一致意见并签订调解协议。", "已上门做双方工作，矛盾已化解。"),
    "03": ("已督促清理，消防通道已恢复畅通。", "已劝导住户将电动车移至集中充电点，楼道清理完毕。"),
    "04": ("已上门劝导，当事人承诺控制音量，复查已无明显噪声。", "已责令停止夜间施工，并督促办理相关手续。"),
    "05": ("已联系犬主进行教育，督促其文明养犬并办理登记。", "已协调公安部门处理，犬主承担相应费用。"),
    "06": ("已安排环卫人员清运，现场已清理干净。", "已清除小广告并清洗墙面。"),
    "07": ("已联系维修单位更换损坏设施，现已恢复正常。", "已设置警示标志并完成修复。"),
    "08": ("已下达限期拆除通知书，违建已自行拆除。", "已责令停止施工，恢复房屋原状。"),
    "09": ("已联系车主挪车，并张贴文明停车提示。", "已通知交警部门拖移车辆。"),
    "10": ("已督促物业公司整改，相关问题已处理。", "已协调维保单位检修，设施恢复正常。"),
    "11": ("已上门走访，协助办理救助申请材料。", "已安排网格员定期上门探望，并联系志愿者结对帮扶。"),
    "12": ("已会同市场监管所检查，责令商户整改。", "已协调商家与消费者达成退款协议。"),
    "13": ("已劝离占道摊贩，恢复通行秩序。", "已责令商户拆除违规广告设施。"),
    "14": ("已向居民答复相关政策和办理流程。", "已联系相关单位处理完毕。"),
}
NOTES = {
    "accept": ("", "已受理", "已受理，正在核实"),
    "register": ("", "符合立案条件，予以立案", "经核实情况属实，立案处理"),
    "dispatch": ("", "请尽快到现场处置", "请按时限处置并反馈"),
    "handle": ("", "已签收，正在前往现场", "已到现场处理"),
    "check": ("现场核查，问题已解决", "复核现场，处置到位"),
    "confirm_call": ("电话回访报事人，确认问题已解决", "上门回访，报事人表示满意"),
    "rework": ("现场核查发现问题仍未解决，退回重新处置", "处置不彻底，请重新处理"),
    "rework_public": ("问题还没有彻底解决", "过了两天又是老样子"),
    "close": ("", "处置完毕，予以结案", "核查合格，结案"),
    "invalid": (
        "经现场核实，反映的情况不存在",
        "报事信息不完整，多次联系报事人未果",
        "不属于受理范围，已告知报事人向相关部门反映",
    ),
    "suspend": ("当事人外出，暂停处置，待其返回后继续", "需等待鉴定结果，暂缓处置"),
    "resume": ("当事人已返回，恢复处置", "鉴定结果已出，恢复处置"),
    "extend": ("涉及多个部门协调，申请延长处置时限", "需等待维修配件到货，申请延期"),
    "approve": ("同意延期", ""),
    "refuse": ("请按原时限处置",),
    "escalate": ("社区多次协调未果，提请街道处理", "涉及多个部门，需上级协调处置"),
    "reroute": ("经核实不属于本单位职责，请转交相关部门", "职责不符，退回重新派遣"),
    "summon": ("请于2小时内到现场联合处置", "吹哨报到：请派员到场协同处置"),
    "report_in": ("已到现场", "执法人员已到场"),
    "summons_done": ("已完成现场执法，责令当事人整改", "已协助社区处置完毕"),
}
COMMENTS = {
    5: ("", "", "处理很及时，谢谢", "网格员很负责", "满意"),
    4: ("", "", "挺好的", "处理得不错"),
    3: ("", "处理还行，就是有点慢"),
    2: ("处理太慢了", "问题没有彻底解决"),
    1: ("没人联系我就结案了", "问题根本没解决"),
}
SCORES = ((5, 0.60), (4, 0.25), (3, 0.08), (2, 0.04), (1, 0.03))

# Scripted cases in the demo grid for the demo accounts: (category, channel, "step[/option]@time ..."),
# each step that many working minutes (or working days, "0.9d") before now. The times keep each case
# within its limits where it waits, except the yellow one (handling past 80% of its limit) and the red one
# (left registered: the sweep escalates it to the street, then to the district, and cards it red there).
SHOWCASE = [
    ("0601", Channel.RESIDENT, "report@15"),
    ("0401", Channel.HOTLINE, "report@40"),
    ("0402", Channel.HOTLINE, "report@30"),
    ("0302", Channel.FIELD, "report@50 accept@40"),
    ("0201", Channel.RESIDENT, "report@120 accept@110 register@80"),
    ("0602", Channel.FIELD, "report@300 accept@280 register@260 dispatch@240"),
    ("0901", Channel.RESIDENT, "report@200 accept@180 register@150 dispatch@60"),
    ("0603", Channel.FIELD, "report@260 accept@250 register@240 dispatch@200 handle@180"),
    ("0601", Channel.RESIDENT, "report@420 accept@400 register@380 dispatch@360 handle@340 report_back@30"),
    ("0502", Channel.RESIDENT, "report@760 accept@750 register@740 dispatch@730 handle@700 report_back@200 check@60"),
    (
        "0602",
        Channel.RESIDENT,
        "report@700 accept@690 register@680 dispatch@670 handle@650 report_back@350 check@200 close@60",
    ),
    ("1301", Channel.RESIDENT, "report@200 accept@180 register@160 dispatch/department@100"),
    ("0403", Channel.HOTLINE, "report@520 accept@500 register@480 dispatch/department@400 handle@350"),
    ("0601", Channel.FIELD, "report@160 accept@150 register@140 dispatch@120 summon/urban_management@20"),
    (
        "0301",
        Channel.FIELD,
        "report@1500 accept@1490 register@1480 dispatch@1470 summon/fire@1460 handle@1450 report_in@1420 "
        "summons_done@1300 report_back@1200 check@1100 close@1000",
    ),
    ("0203", Channel.RESIDENT, "report@1000 accept@990 register@980 dispatch@970 handle@960 summon/housing@900"),
    (
        "0601",
        Channel.FIELD,
        "report@2000 accept@1990 register@1980 dispatch@1970 summon/urban_management@1960 handle@1950 "
        "report_in@1700 report_back@1650 summons_done@1600 check@1500 close@1450",
    ),
    ("0201", Channel.RESIDENT, "report@120 accept@110 register@80 escalate@40"),
    ("0202", Channel.RESIDENT, "report@2400 accept@2390 register@2380 dispatch@2370 handle@2300 suspend@2000"),
    ("0601", Channel.FIELD, "report@0.95d accept@0.94d register@0.93d dispatch@0.9d handle@0.89d"),
    ("0603", Channel.FIELD, "report@440 accept@435 register@430"),
    ("0203", Channel.RESIDENT, "report@1400 accept@1390 register@1380 dispatch@1370 handle@1300 extend@45"),
]


@dataclass
class Totals:
    """What was generated, for the summary line and the tests."""

    cases: int = 0
    events: int = 0
    summonses: int = 0
    states: Counter = field(default_factory=Counter)
    yellow: int = 0
    red: int = 0
    escalated: int = 0
    rated: int = 0
    unrated: int = 0
    accounts: int = 0

    def add(self, histories: list[bulk.History], counts: dict) -> None:
        self.cases += counts["cases"]
        self.events += counts["events"]
        self.summonses += counts["summonses"]
        for h in histories:
            c = h.case
            self.states[c.state] += 1
            self.yellow += c.supervision == Supervision.YELLOW
            self.red += c.supervision == Supervision.RED
            self.escalated += c.escalation_count > 0
            self.rated += c.rating == Rating.RATED
            self.unrated += c.rating == Rating.NONE


def default_count(residents_count: int) -> int:
    """The number of cases the demo generates for that many residents."""
    return round(residents_count * PER_RESIDENT)


def add_members(unit: Unit, people: list[tuple]) -> None:
    """Make (user, lead) pairs members of the unit, keeping its other members; no write when all are."""
    current = {m.user_id: (m.user, m.lead) for m in UnitMember.objects.filter(unit=unit).select_related("user")}
    wanted = dict(current)
    for user, lead in people:
        if user is not None:
            wanted[user.pk] = (user, lead or current.get(user.pk, (None, False))[1])
    if wanted != current:
        set_members(None, unit, list(wanted.values()))


def working_before(moment: datetime, minutes: float) -> datetime:
    """The moment `minutes` of working time before `moment` (the end of the last office hours for 0)."""
    tz = timezone.get_default_timezone()
    cursor = timezone.localtime(moment, tz)
    left = timedelta(minutes=minutes)
    day = cursor.date()
    for _ in range(workcalendar.MAX_DAYS):
        if workcalendar.is_working_day(day):
            for s, e in reversed(workcalendar.office_hours()):
                start = datetime.combine(day, s, tzinfo=tz)
                end = min(datetime.combine(day, e, tzinfo=tz), cursor)
                if end <= start:
                    continue
                if left <= end - start:
                    return end - left
                left -= end - start
        day -= timedelta(days=1)
    raise ValueError("no working time before that moment")


def load_cases(
    district: Division,
    count: int,
    *,
    demo_grid: str,
    accounts: dict,
    client=None,
    around_demo: bool = True,
    seed: int = SEED,
    now=None,
    out=None,
) -> Totals | None:
    """Generate and store `count` cases over the year before `now`; None if the district has cases already.

    `accounts` maps demo role names to their users (the desks, the grid worker, the department staff, the
    hotline's dispatcher); `client` is the Open311 client that files the Open311 cases. With
    `around_demo`, a third of the cases fall in the demo grid's street, so the demo accounts have plenty.
    """
    if count <= 0 or Case.objects.filter(path__startswith=district.path).exists():
        return None
    year = Year(district, demo_grid, accounts, client, seed, now or timezone.now())
    return year.run(count, around_demo, out or (lambda text: None))


class Year:
    """The simulation: arrivals, each case's life, the scripted cases, and the batches stored."""

    def __init__(self, district, demo_grid, accounts, client, seed, now):
        self.district, self.demo_grid, self.client, self.now = district, demo_grid, client, now
        self.rng = random.Random(seed)
        self.nprng = np.random.default_rng(seed)
        self.accounts = accounts
        self.grids = list(
            Grid.objects.filter(path__startswith=district.path)
            .select_related("community__parent__parent")
            .order_by("code")
        )
        self.categories = [c for c in leaf_categories() if CATEGORY_WEIGHTS.get(c.code, 1) > 0]
        self.by_code = {c.code: c for c in self.categories}
        demo = next((g for g in self.grids if g.code == demo_grid), None)
        # Each desk that has a demo account; the others act under their centre's code.
        self.desk_people = {}
        if demo is not None:
            self.desk_people = {
                demo.community.code: accounts.get(Role.GRID_HEAD),
                demo.community.parent.code: accounts.get(Role.STREET_ADMIN),
            }
        self.desk_people[district.code] = accounts.get(Role.DISTRICT_ADMIN)
        self.staff = [accounts.get(r) for r in (Role.STREET_ADMIN, Role.DISTRICT_ADMIN, Role.DEPARTMENT_STAFF)]
        self.centres: dict = {}
        self.departments: dict = {}
        self.workers: dict = {}
        self.places: bulk.Places | None = None
        self.recent: dict = {}
        self.roads: dict = {}

    # --- Arrivals ----------------------------------------------------------------------------------

    def arrivals(self, count: int, around_demo: bool) -> dict:
        """Category, channel, grid, point and moment of each case, in time order (NumPy arrays)."""
        nprng = self.nprng
        weights = np.array([CATEGORY_WEIGHTS.get(c.code, 1) for c in self.categories], dtype=float)
        category = nprng.choice(len(self.categories), count, p=weights / weights.sum())
        channel = nprng.choice(len(CHANNELS), count, p=[share for _c, share in CHANNELS])
        tz = timezone.get_default_timezone()
        today = timezone.localtime(self.now, tz).date()
        first = today - timedelta(days=364)
        days = [first + timedelta(days=i) for i in range(365)]
        summer = np.array([c.code[:2] in SUMMER for c in self.categories])[category]
        field_work = channel == 0
        day = np.empty(count, dtype=np.int64)
        for is_summer in (False, True):
            for is_field in (False, True):
                mask = (summer == is_summer) & (field_work == is_field)
                p = np.array([_day_weight(d, is_summer, is_field) for d in days])
                day[mask] = nprng.choice(365, int(mask.sum()), p=p / p.sum())
        evening = np.array([c.code in EVENING for c in self.categories])[category]
        hour = np.empty(count, dtype=np.int64)
        for mask, profile in (
            (field_work, HOURS_FIELD),
            (~field_work & evening, HOURS_EVENING),
            (~field_work & ~evening, HOURS_PUBLIC),
        ):
            p = np.array(profile, dtype=float)
            hour[mask] = nprng.choice(24, int(mask.sum()), p=p / p.sum())
        start = datetime.combine(first, datetime.min.time(), tzinfo=tz).timestamp()
        moment = start + day * 86400.0 + hour * 3600.0 + nprng.uniform(0, 3600, count)
        now = self.now.timestamp()
        moment = np.where(moment >= now, moment - 86400.0, moment)
        grid = nprng.choice(len(self.grids), count, p=self._grid_shares(around_demo))
        lng, lat = self.points(grid)
        order = np.argsort(moment, kind="stable")
        return {
            "category": category[order],
            "channel": channel[order],
            "moment": moment[order],
            "grid": grid[order],
            "lng": lng[order],
            "lat": lat[order],
        }

    def _grid_shares(self, around_demo: bool) -> np.ndarray:
        households = np.array([max(g.households, 1) for g in self.grids], dtype=float)
        if not around_demo:
            return households / households.sum()
        code = self.demo_grid
        groups = [
            np.array([g.code == code for g in self.grids]),
            np.array([g.code[:12] == code[:12] and g.code != code for g in self.grids]),
            np.array([g.code[:9] == code[:9] and g.code[:12] != code[:12] for g in self.grids]),
        ]
        rest = ~(groups[0] | groups[1] | groups[2])
        shares = np.zeros(len(self.grids))
        left = 1.0
        for mask, share in zip(groups, AROUND_DEMO, strict=True):
            if mask.any():
                shares[mask] = share * households[mask] / households[mask].sum()
                left -= share
        if rest.any():
            shares[rest] = left * households[rest] / households[rest].sum()
        return shares / shares.sum()

    def points(self, grid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """A random point in each chosen grid: drawn in its bounding box until the grid index confirms it."""
        index = grid_index()
        position = {code: i for i, code in enumerate(index.codes)}
        wanted = np.array([position[g.code] for g in self.grids])[grid]
        boxes = np.array([(g.min_lng, g.max_lng, g.min_lat, g.max_lat) for g in self.grids])[grid]
        lng, lat = np.empty(len(grid)), np.empty(len(grid))
        todo = np.arange(len(grid))
        while len(todo):
            b = boxes[todo]
            x = self.nprng.uniform(b[:, 0], b[:, 1])
            y = self.nprng.uniform(b[:, 2], b[:, 3])
            hit = index.locate_many(x, y) == wanted[todo]
            lng[todo[hit]], lat[todo[hit]] = x[hit], y[hit]
            todo = todo[~hit]
        return lng, lat

    # --- Who acts ----------------------------------------------------------------------------------

    def centre(self, division: Division) -> Unit:
        if division.pk not in self.centres:
            self.centres[division.pk] = routing.centre(division)
        return self.centres[division.pk]

    def department(self, code: str) -> Unit:
        if code not in self.departments:
            self.departments[code] = routing.department(self.district, code)
        return self.departments[code]

    def desk(self, case: Case) -> tuple:
        """(user, by) of the desk that owns the case: a demo account, or the centre's code."""
        division = routing.division_at(case, case.level)
        person = self.desk_people.get(division.code)
        return (person, "") if person is not None else (None, self.centre(division).code)

    def member(self, case: Case, unit: Unit | None = None) -> tuple:
        """(user, by) of someone working for the unit (the case's own by default)."""
        unit = unit or case.unit
        for user in (self.workers.get(case.grid.code), *self.staff):
            if user is not None and self.places.is_member(user, unit):
                return user, ""
        return None, unit.code

    def checker(self, case: Case) -> tuple:
        worker = self.workers.get(case.grid.code)
        return (worker, "") if worker is not None else self.desk(case)

    def note(self, kind: str) -> str:
        return self.rng.choice(NOTES[kind])

    # --- The cases ---------------------------------------------------------------------------------

    def new_case(self, category, channel: str, grid: Grid, lng: float, lat: float, at: datetime) -> bulk.History:
        """A case as intake files it, from its reporter."""
        rng = self.rng
        place = self.place_text(grid)
        text = rng.choice(TEMPLATES.get(category.code) or TEMPLATES["1402"]).format(
            place=place, n=rng.randint(2, 5), time=rng.choice(TIMES), color=rng.choice(COLOURS)
        )
        case = Case(
            category=category,
            description=text + rng.choice(TAILS),
            channel=channel,
            lng=lng,
            lat=lat,
            address=place if rng.random() < 0.8 else "",
            grid=grid,
            community=grid.community,
            street=grid.community.parent,
            district=grid.community.parent.parent,
            path=grid.path,
            reported_at=at,
        )
        actor, client = None, None
        if channel == Channel.FIELD:
            actor = self.workers.get(grid.code)
        elif channel in (Channel.HOTLINE, Channel.API):
            actor = self.accounts.get(Role.DISPATCHER)
        elif channel == Channel.OPEN311:
            client = self.client
        if channel != Channel.FIELD or actor is None:
            case.reporter_name, case.reporter_phone = person_name(rng), mobile(rng)
            if channel == Channel.OPEN311 and rng.random() < 0.3:
                case.reporter_email = f"user{rng.randrange(10**6):06d}@example.com"
        return bulk.History(case, actor=actor, client=client, places=self.places)

    def place_text(self, grid: Grid) -> str:
        """Where, as a reporter says it: a door number, a building of an estate, or a crossing of the
        community's roads."""
        rng = self.rng
        roads = self.roads.setdefault(grid.community_id, rng.sample(ROADS, 4))
        shape = rng.random()
        if shape < 0.5:
            return f"{rng.choice(roads)}{rng.randint(1, 180)}号"
        if shape < 0.85:
            return f"{rng.choice(ESTATES)}{rng.randint(1, 24)}号楼"
        first, second = rng.sample(roads, 2)
        return f"{first}与{second}路口"

    def live(self, h: bulk.History, duplicate_of: bulk.History | None = None) -> None:
        """Take the case's steps until now: the next step the policy picks, or a summons' step, whichever
        comes first; the sweep acts in between."""
        life = Life(duplicate_of=duplicate_of)
        plan = None
        while True:
            plan = plan or self.next_step(h, life)
            side = life.side[0] if life.side else None
            take_side = side is not None and (plan is None or side[0] <= plan[0])
            upcoming = side if take_side else plan
            if upcoming is None or upcoming[0] > self.now:
                if not h.advance(self.now):
                    break
                plan = None  # escalated before now: the new level's desk may act yet
                continue
            if take_side:
                life.side.popleft()
                where = (h.case.state, h.case.level)
                side[1]()
                if (h.case.state, h.case.level) != where:
                    plan = None  # the sweep escalated the case meanwhile: decide again
                continue
            at, step = plan
            plan = None
            if not h.advance(at):  # when the sweep escalated the case on the way, decide again
                step()

    def when(self, h: bulk.History, on_time: float) -> datetime:
        """When the current stage's step is taken: mostly within its limit, sometimes after its deadline."""
        c, rng = h.case, self.rng
        limit = self.places.limit(c, STAGE_OF[c.state])
        if rng.random() >= on_time:
            return workcalendar.add_working(max(c.due_at, h.at), limit * rng.uniform(0.05, 1.0))
        at = workcalendar.add_working(c.stage_started_at, limit * rng.uniform(0.05, 0.85))
        # Other steps took up the stage's time already (a summons, a refused extension): soon, then.
        return at if at > h.at else workcalendar.add_working(h.at, limit * rng.uniform(0.01, 0.1))

    def next_step(self, h: bulk.History, life: "Life"):
        """(moment, step) of what happens next on the main track, or None when the case rests."""
        c, rng = h.case, self.rng
        group = c.category.code[:2]
        desk = self.desk(c)
        state = c.state
        if state == State.REPORTED:
            at = self.when(h, ON_TIME["desk"])
            if life.duplicate_of is not None:
                return at, lambda: h.step("reject", at, *desk, reason="duplicate", duplicate_of=life.duplicate_of)
            if rng.random() < REJECT_INVALID:
                return at, lambda: h.step("reject", at, *desk, note=self.note("invalid"), reason="invalid")
            return at, lambda: h.step("accept", at, *desk, note=self.note("accept"))
        if state == State.ACCEPTED:
            at = self.when(h, ON_TIME["desk"])
            return at, lambda: h.step("register", at, *desk, note=self.note("register"))
        if state == State.REGISTERED:
            at = self.when(h, ON_TIME["desk"])
            if not life.escalated and c.level != "district" and c.category.code in HARD and rng.random() < 0.05:
                life.escalated = True
                return at, lambda: h.step("escalate", at, *desk, note=self.note("escalate"))
            if not life.summoned and group in SUMMONED and c.category.department and rng.random() < 0.08:
                life.summoned = True
                return at, lambda: self.summon(h, life, at, desk, self.department(c.category.department))
            return at, lambda: self.dispatch(h, at, desk)
        if c.extension_requested:
            at = workcalendar.add_working(h.at, rng.uniform(10, 180))
            if rng.random() < 0.85:
                return at, lambda: h.step("approve_extension", at, *desk, note=self.note("approve"), approve=True)
            return at, lambda: h.step("approve_extension", at, *desk, note=self.note("refuse"), approve=False)
        if state == State.DISPATCHED:
            if not life.rerouted and c.unit.kind == UnitKind.DEPARTMENT and rng.random() < 0.03:
                life.rerouted = True
                target = self.department(PASS_ON.get(c.unit.department, "urban_management"))
                if target.pk != c.unit_id:
                    at = workcalendar.add_working(h.at, rng.uniform(20, 240))
                    return at, lambda: h.step("reroute", at, *desk, note=self.note("reroute"), unit=target)
            at = workcalendar.add_working(h.at, rng.uniform(5, 90))
            return at, lambda: h.step("handle", at, *self.member(c), note=self.note("handle"))
        if state == State.HANDLING:
            if not life.suspended and group in SUSPENDABLE and rng.random() < 0.04:
                life.suspended = True
                at = workcalendar.add_working(h.at, rng.uniform(30, 600))
                return at, lambda: h.step("suspend", at, *desk, note=self.note("suspend"))
            if not life.extended and rng.random() < 0.05:
                life.extended = True
                at = self.when(h, 1.0)
                limit = rng.choice(("1d", "2d", "3d"))
                return at, lambda: h.step("extend", at, *self.member(c), note=self.note("extend"), limit=limit)
            at = self.when(h, ON_TIME["handle"])
            return at, lambda: h.step("report_back", at, *self.member(c), note=rng.choice(RESULTS[group]))
        if state == State.REPORTED_BACK:
            at = self.when(h, ON_TIME["desk"])
            if rng.random() < 0.06 and not life.reworked:
                life.reworked = True
                if c.reporter_id is None and rng.random() < 0.5:
                    return at, lambda: h.confirm(at, False, self.note("rework_public"))
                return at, lambda: h.step("rework", at, *self.checker(c), note=self.note("rework"))
            if c.category.reporter_confirms and c.channel != Channel.FIELD and rng.random() < 0.5:
                return at, lambda: h.confirm(at, True)
            note = self.note("confirm_call" if c.category.reporter_confirms else "check")
            return at, lambda: h.step("check", at, *self.checker(c), note=note)
        if state == State.CHECKED:
            at = self.when(h, ON_TIME["desk"])
            return at, lambda: h.step("close", at, *desk, note=self.note("close"))
        if state == State.SUSPENDED:
            at = workcalendar.add_working(h.at + timedelta(days=rng.uniform(2, 30)), rng.uniform(0, 240))
            return at, lambda: h.step("resume", at, *desk, note=self.note("resume"))
        if state == State.CLOSED and c.rating == Rating.PENDING and not life.rating_decided:
            life.rating_decided = True
            if rng.random() >= RATED:
                return None
            at = c.closed_at + timedelta(hours=rng.uniform(0.5, RATING_DAYS * 24 - 2))
            return at, lambda: self.rate(h, at)
        return None

    def dispatch(self, h: bulk.History, at: datetime, desk: tuple, department: bool | None = None) -> None:
        """To a district department, or to the case's own centre (its grid's worker when the community
        handles it)."""
        c, rng = h.case, self.rng
        share = TO_DEPARTMENT.get(c.category.code[:2], 0.3) * (1.5 if c.level == "street" else 1.0)
        if department is None:
            department = c.unit.kind == UnitKind.DEPARTMENT or rng.random() < share
        note = self.note("dispatch")
        if department and c.category.department:
            h.step("dispatch", at, *desk, note=note, unit=self.department(c.category.department))
            return
        assignee = self.workers.get(c.grid.code) if c.unit.kind == UnitKind.COMMUNITY else None
        if assignee is not None and not self.places.is_member(assignee, c.unit):
            assignee = None
        h.step("dispatch", at, *desk, note=note, assignee=assignee)

    def summon(self, h: bulk.History, life: "Life", at: datetime, desk: tuple, unit: Unit) -> None:
        """Summon a department; its report-in (on time, late or never) and its work join the side track."""
        rng = self.rng
        (summons,) = h.summon(at, desk[0], [unit], self.note("summon"), by=desk[1])
        who = self.member(h.case, unit)
        draw = rng.random()
        if draw < 0.10:
            return  # never reports in: the sweep gives the red card
        if draw < 0.78 + 0.10:
            arrive = workcalendar.add_working(at, rng.uniform(10, 110))
        else:
            arrive = workcalendar.add_working(summons.due_at, rng.uniform(10, 240))
        done = workcalendar.add_working(arrive, rng.uniform(60, 960))
        life.side.append((arrive, lambda: h.report_in(arrive, summons, who[0], self.note("report_in"), by=who[1])))
        life.side.append((done, lambda: h.summons_done(done, summons, who[0], self.note("summons_done"), by=who[1])))

    def rate(self, h: bulk.History, at: datetime) -> None:
        rng = self.rng
        r = rng.random()
        score = next(s for s, cumulative in _cumulative(SCORES) if r < cumulative)
        comment = rng.choice(COMMENTS[score])
        if h.case.channel != Channel.FIELD and rng.random() < 0.7:
            h.rate(at, score, comment)  # the reporter, through the case's link
        else:
            actor, by = self.desk(h.case)  # the desk, recording a follow-up call
            h.rate(at, score, comment, actor=actor, by=by or "public")

    def duplicate_target(self, category, grid: Grid, at: datetime) -> bulk.History | None:
        """Now and then, the latest case of the same category in the grid, if reported in the week before and
        still open: the new case reports it again."""
        key = (category.pk, grid.pk)
        recent = self.recent.setdefault(key, deque())
        while recent and recent[0].case.reported_at < at - timedelta(days=DUPLICATE_DAYS):
            recent.popleft()
        if not recent or self.rng.random() >= DUPLICATE:
            return None
        original = recent[-1]
        ended = next((e.at for e in original.events if e.action in ("close", "reject")), None)
        return original if ended is None or ended > at else None

    # --- The run -----------------------------------------------------------------------------------

    def prepare(self, grid_ids) -> int:
        """Grid workers' accounts for the grids with cases, members of their community's centre."""
        grids = [g for g in self.grids if g.pk in grid_ids]
        self.workers, opened = residents.grid_workers(grids, self.demo_grid, self.accounts.get(Role.GRID_WORKER))
        by_community: dict = {}
        for g in grids:
            by_community.setdefault(g.community, []).append((self.workers[g.code], False))
        for community, people in by_community.items():
            add_members(self.centre(community), people)
        self.places = bulk.Places()
        return opened

    def run(self, count: int, around_demo: bool, out) -> Totals:
        t0 = time.perf_counter()
        out(f"Cases: generating {count:,} over the year before {timezone.localtime(self.now):%Y-%m-%d %H:%M}...")
        arrivals = self.arrivals(count, around_demo)
        demo = next((g for g in self.grids if g.code == self.demo_grid), None)
        totals = Totals()
        used = {self.grids[i].pk for i in np.unique(arrivals["grid"])} | ({demo.pk} if demo else set())
        totals.accounts = self.prepare(used)
        tz = timezone.get_default_timezone()
        batch: list[bulk.History] = []
        for i in range(count):
            category = self.categories[arrivals["category"][i]]
            grid = self.grids[arrivals["grid"][i]]
            at = datetime.fromtimestamp(float(arrivals["moment"][i]), tz)
            lng, lat = float(arrivals["lng"][i]), float(arrivals["lat"][i])
            original = self.duplicate_target(category, grid, at)
            if original is not None:
                # A second report of the same thing: a few metres from the first.
                lng, lat = original.case.lng, original.case.lat
            h = self.new_case(category, CHANNELS[arrivals["channel"][i]][0], grid, lng, lat, at)
            self.live(h, original)
            self.recent.setdefault((category.pk, grid.pk), deque()).append(h)
            batch.append(h)
            if len(batch) >= BATCH:
                totals.add(batch, bulk.load_cases(None, batch, NOTE))
                out(f"  {totals.cases:,} cases stored ({time.perf_counter() - t0:.0f} s)")
                batch = []
        if demo is not None:
            batch += [self.scripted(demo, *script) for script in SHOWCASE]
            batch.sort(key=lambda h: h.case.reported_at)
        if batch:
            totals.add(batch, bulk.load_cases(None, batch, NOTE))
        self.recent.clear()
        return totals

    def scripted(self, grid: Grid, code: str, channel: str, steps: str) -> bulk.History:
        """One of the SHOWCASE cases, in the demo grid, its steps at fixed working times before now."""
        rng = self.rng
        lng, lat = self.points(np.array([self.grids.index(grid)]))
        h = None
        for step in steps.split():
            name, _, before = step.partition("@")
            action, _, option = name.partition("/")
            days = before.endswith("d")
            at = working_before(self.now, float(before.rstrip("d")) * (workcalendar.day_minutes() if days else 1))
            if action == "report":
                h = self.new_case(self.by_code[code], channel, grid, float(lng[0]), float(lat[0]), at)
                continue
            c = h.case
            if action == "dispatch":
                self.dispatch(h, at, self.desk(c), department=option == "department")
            elif action == "summon":
                h.summon(at, self.desk(c)[0], [self.department(option)], self.note("summon"), by=self.desk(c)[1])
            elif action in ("report_in", "summons_done"):
                summons = h.summonses[-1]
                who = self.member(c, summons.unit)
                getattr(h, action)(at, summons, who[0], self.note(action), by=who[1])
            elif action in ("handle", "report_back", "extend"):
                note = rng.choice(RESULTS[code[:2]]) if action == "report_back" else self.note(action)
                extra = {"limit": "3d"} if action == "extend" else {}
                h.step(action, at, *self.member(c), note=note, **extra)
            elif action == "check":
                h.step("check", at, *self.checker(c), note=self.note("confirm_call"))
            else:
                h.step(action, at, *self.desk(c), note=self.note(action))
        h.catch_up(self.now)
        return h


@dataclass
class Life:
    """What the policy remembers of one case: the things done once, and the summonses' pending steps."""

    duplicate_of: bulk.History | None = None
    escalated: bool = False
    summoned: bool = False
    rerouted: bool = False
    suspended: bool = False
    extended: bool = False
    reworked: bool = False
    rating_decided: bool = False
    side: deque = field(default_factory=deque)


def _day_weight(day: date, summer: bool, field_work: bool) -> float:
    """How busy a day is: the season, the weekend, the Spring Festival."""
    weight = 1.0
    if summer:
        weight *= 1 + 0.45 * math.cos(2 * math.pi * (day.timetuple().tm_yday - 196) / 365.25)
    if not workcalendar.is_working_day(day):
        weight *= 0.35 if field_work else 0.8
    for festival in SPRING_FESTIVAL:
        offset = (day - festival).days
        if -2 <= offset <= 7:
            weight *= 0.35
        elif -10 <= offset <= 15:
            weight *= 0.75
    return weight


def _cumulative(pairs):
    total = 0.0
    for value, share in pairs:
        total += share
        yield value, total
    yield pairs[-1][0], float("inf")


def summary(totals: Totals, seconds: float) -> str:
    """One paragraph for the command line."""
    t = totals
    states = ", ".join(f"{t.states[s]:,} {s}" for s in State.values if t.states[s])
    return (
        f"Cases: {t.cases:,} ({states}); {t.events:,} timeline events, {t.summonses:,} summonses; "
        f"{t.yellow:,} yellow and {t.red:,} red now, {t.escalated:,} escalated; {t.rated:,} rated, "
        f"{t.unrated:,} left unrated; {t.accounts:,} grid-worker accounts opened; {seconds:.1f} s."
    )
