/// The embedded default playbook: the rule coach's knowledge when no `PLAYBOOK_FILE` is configured.
///
/// The same text ships as `deploy/playbook.example.json` for operators to copy and edit; a test checks the
/// two are identical, so edit both together (or edit the file and paste it here). A raw string, so JSON
/// escapes such as `\"` stay as written.
enum DefaultPlaybook {
    /// The playbook's JSON text.
    static let json = #"""
{
  "_comment": "Earpiece rule-coach playbook. Copy, edit, and point PLAYBOOK_FILE at it. Phrases match case-insensitively on whole words ('price' does not match 'priceless' or 'prices'; list each form you want). Placeholders: {account} {agent} {product} {competitor} {phrase} {name} {question} {topic} {label} {share} {seconds} {minutes}. Keys starting with _ are comments.",
  "name": "Earpiece default B2B playbook",
  "version": 1,
  "thresholds": {
    "talkRatioLow": 0.4,
    "talkRatioHigh": 0.6,
    "minimumTalkSeconds": 60,
    "minimumSegments": 8,
    "monologueSeconds": 60,
    "silenceSeconds": 10,
    "nearEndFraction": 0.8,
    "longCallMinutes": 20,
    "evidenceWindow": 12
  },
  "objections": [
    {
      "id": "price",
      "kind": "objection",
      "name": "price",
      "headline": "Price pushback: anchor on the cost of the problem",
      "suggestion": "Acknowledge the number without defending it, then move the conversation from price to the cost of the problem they described.",
      "triggers": [
        "too expensive", "expensive", "too pricey", "pricey", "costs too much", "cost too much", "too much money",
        "a lot of money", "more than we expected", "more than i expected", "more than we hoped", "more than i hoped",
        "over our budget", "over budget", "out of our budget", "not in the budget", "no budget for", "don't have the budget",
        "can't afford", "cannot afford", "price is too high", "the price is high", "cheaper", "lower price",
        "a discount", "any discount", "adding cost", "add cost", "justify the price", "justify the cost",
        "price difference", "hard to justify", "that's steep", "pretty steep", "a bit steep", "per seat is a lot"
      ],
      "answers": [
        {
          "label": "Quantify the pain",
          "script": "Fair question. Before we talk about the price, what does the problem cost {account} today, in hours or money each month?",
          "followUp": {
            "suggestion": "They have a number for the pain now: put it next to the price and let them do the math.",
            "script": "So if that costs you about that much each month, how does it compare with the investment we talked about?"
          }
        },
        {
          "label": "Reframe as return",
          "script": "I hear you. If {product} gave your team those hours back, what would that be worth to you over a year?",
          "followUp": {
            "suggestion": "Turn the value they named into a simple payback: months until the saving covers the cost.",
            "script": "Based on what you said, the saving would cover the cost within a few months. Would a one-page payback summary help you make the case?"
          }
        },
        {
          "label": "Isolate the objection",
          "script": "Understood. If the price worked for you, is there anything else that would stop you from moving forward?",
          "followUp": {
            "suggestion": "If price is the only blocker, explore packaging (scope, term, phasing) rather than discounting.",
            "script": "Thanks, that helps. Would it work better to start with a smaller team and expand once you see the results?"
          }
        }
      ]
    },
    {
      "id": "timing",
      "kind": "objection",
      "name": "timing",
      "headline": "Timing pushback: find out what 'later' costs",
      "suggestion": "Do not accept 'later' at face value: ask what changes by then and what waiting costs in the meantime.",
      "triggers": [
        "not the right time", "bad timing", "not a priority", "not a priority right now", "next quarter",
        "maybe later", "in a few months", "revisit this", "revisit it", "circle back later", "too busy",
        "not ready", "budget freeze", "hiring freeze", "after the holidays", "put this on hold", "on hold",
        "come back to this later", "wait until", "not this year", "timing isn't right", "timing is not right"
      ],
      "answers": [
        {
          "label": "Cost of waiting",
          "script": "That makes sense. What happens to the problem between now and then, and what does that delay cost you?",
          "followUp": {
            "suggestion": "They have put a cost on waiting: connect it to a start date that avoids it.",
            "script": "If waiting costs that much, would it make sense to plan a start date that gets you live before then?"
          }
        },
        {
          "label": "Find the real blocker",
          "script": "Understood. Is it the timing itself, or is something else competing for the team's attention right now?",
          "followUp": {
            "suggestion": "Address the competing priority directly, or make the rollout light enough to fit around it.",
            "script": "What if we planned the rollout around that project so your team's effort stays small until it is done?"
          }
        },
        {
          "label": "Agree a trigger date",
          "script": "Fair enough. So we don't lose what we discussed, can we agree a date to pick this up again, and what would need to be true by then?",
          "followUp": {
            "suggestion": "Lock the date now and agree what they will check before it.",
            "script": "Great, I'll put it in the calendar. What should I prepare so that call is useful for you?"
          }
        }
      ]
    },
    {
      "id": "competitor",
      "kind": "competitor",
      "name": "competitor",
      "headline": "{competitor} in play: learn what matters in the comparison",
      "suggestion": "Stay respectful about {competitor}. Ask what they like about it, then contrast on the one or two things that matter most to {account}.",
      "triggers": [
        "also looking at", "also talking to", "also evaluating", "looking at other", "other vendors", "another vendor",
        "other options", "alternatives", "your competitor", "your competitors", "competitors", "comparing you", "cheaper option", "switch from", "we already use", "their quote", "they quoted",
        "other tools", "another tool", "a different vendor", "shopping around"
      ],
      "names": [],
      "answers": [
        {
          "label": "Ask what they like",
          "script": "That's useful to know. What do you like most about {competitor} so far?",
          "followUp": {
            "suggestion": "Acknowledge what they like, then anchor on the requirement where you are clearly stronger.",
            "script": "That makes sense. How important is the part we talked about earlier, compared to that?"
          }
        },
        {
          "label": "Contrast on their needs",
          "script": "Good that you're comparing. For the problems you described, did {competitor} cover them, and how?",
          "followUp": {
            "suggestion": "Make the gap concrete: what the missing piece would cost them in effort or risk.",
            "script": "If that part ends up on your team, how much effort would that be for you over the first year?"
          }
        },
        {
          "label": "Offer a side-by-side",
          "script": "Would it help if I put together a side-by-side with your requirements, so you can compare like for like?",
          "followUp": {
            "suggestion": "Agree who sees the comparison and when, and book the review.",
            "script": "Great. Who else should see the comparison, and can we go through it together next week?"
          }
        }
      ]
    },
    {
      "id": "authority",
      "kind": "objection",
      "name": "authority",
      "headline": "Decision sits elsewhere: map the approval path",
      "suggestion": "Find out who decides and how, and help your contact sell it internally instead of waiting for an answer.",
      "triggers": [
        "run it by", "run this by", "check with my boss", "check with my manager", "talk to my boss", "my boss decides",
        "not my decision", "not my call", "sign off", "signs off", "approval from", "need approval", "get approval",
        "decision maker", "the board", "above my pay grade", "final say", "procurement", "legal has to",
        "loop in my", "my manager has to", "the cfo has to", "need buy in"
      ],
      "answers": [
        {
          "label": "Map the process",
          "script": "Of course. Who else is involved in a decision like this, and what does the approval usually look like?",
          "followUp": {
            "suggestion": "Now that the path is clear, offer what each approver will need.",
            "script": "Thanks. What will they want to see before they say yes, and can I help you prepare it?"
          }
        },
        {
          "label": "Equip the champion",
          "script": "Makes sense. What would you need from me to make the case internally?",
          "followUp": {
            "suggestion": "Agree the exact material and a date for it.",
            "script": "I'll put that together. When do you meet them, so I can get it to you a day before?"
          }
        },
        {
          "label": "Bring them in",
          "script": "Would it help to set up a short call with them, so they can ask their questions directly?",
          "followUp": {
            "suggestion": "Pin down the meeting while you have momentum.",
            "script": "Great. Which day works for them next week, and is thirty minutes enough?"
          }
        }
      ]
    },
    {
      "id": "need",
      "kind": "objection",
      "name": "need",
      "headline": "Need in doubt: go back to their problem",
      "suggestion": "Do not pitch harder. Ask about the problem again and let them say in their own words whether it is worth solving.",
      "triggers": [
        "we don't need", "don't really need", "do we really need", "not sure we need", "no need for", "we're fine with",
        "we are fine with", "happy with what we have", "what we have works", "not a problem for us", "doesn't apply to us",
        "we already have", "we built our own", "nice to have", "not a big deal", "we manage fine", "works well enough",
        "good enough for us"
      ],
      "answers": [
        {
          "label": "Test the status quo",
          "script": "That's fair. If nothing changed in the next year, what would that mean for the team?",
          "followUp": {
            "suggestion": "If they see a cost in standing still, make it concrete; if not, ask where they do feel pain.",
            "script": "Where do you see the most friction today, even if it's small?"
          }
        },
        {
          "label": "Check the priority",
          "script": "Understood. Where does this sit on your list of priorities this quarter?",
          "followUp": {
            "suggestion": "Link your product to the priority they named, or agree it is not the moment.",
            "script": "Would it help if I showed how this supports that priority, in five minutes?"
          }
        },
        {
          "label": "Recap their words",
          "script": "Earlier you mentioned the problem you're seeing. Is that still something you want to fix?",
          "followUp": {
            "suggestion": "Confirm the problem in their words and ask what fixing it would be worth.",
            "script": "If we could fix that, what would it be worth to you?"
          }
        }
      ]
    },
    {
      "id": "trust",
      "kind": "objection",
      "name": "trust",
      "headline": "Trust concern: offer proof, not promises",
      "suggestion": "Acknowledge the risk they see, then offer evidence they can check: a reference, a case study, a pilot or the security documents.",
      "triggers": [
        "never heard of you", "how do i know", "how do we know", "not sure we can trust", "too good to be true",
        "do you have references", "any references", "who else uses", "what if you go out of business", "we got burned",
        "got burned before", "sounds risky", "too risky", "is it secure", "security concerns", "data privacy",
        "how long have you been around", "skeptical", "sceptical", "prove it"
      ],
      "answers": [
        {
          "label": "Offer a reference",
          "script": "That's a fair concern. Would it help to speak with a customer like {account} who had the same worry?",
          "followUp": {
            "suggestion": "Agree what they want to ask the reference, and set it up quickly.",
            "script": "I'll line that up this week. What would you most like to ask them?"
          }
        },
        {
          "label": "Propose a pilot",
          "script": "Rather than take my word for it, would a short pilot with clear success criteria help?",
          "followUp": {
            "suggestion": "Define the pilot's scope, success criteria and decision date now.",
            "script": "What would the pilot need to show for you to feel confident moving forward?"
          }
        },
        {
          "label": "Ask what proof they need",
          "script": "Understood. What would you need to see to feel comfortable with us?",
          "followUp": {
            "suggestion": "Commit to exactly that proof with a date, and tie it to the next step.",
            "script": "I'll get that to you by the end of the week. Can we review it together after?"
          }
        }
      ]
    },
    {
      "id": "implementation",
      "kind": "objection",
      "name": "implementation effort",
      "headline": "Effort worry: make the rollout feel small",
      "suggestion": "Show that the rollout is planned and supported: who does what, how long it takes, and what their team has to do.",
      "triggers": [
        "too much work", "don't have the bandwidth", "no bandwidth", "don't have the resources", "too disruptive",
        "switching costs", "switching cost", "learning curve", "too complicated", "too complex", "retrain everyone",
        "migration would", "our it team won't", "don't have time to implement", "long implementation"
      ],
      "answers": [
        {
          "label": "Show the plan",
          "script": "That's a real concern. Typically our team does most of the setup; yours spends a few hours in the first weeks. Would a step-by-step plan help?",
          "followUp": {
            "suggestion": "Make the plan concrete with their own names and dates.",
            "script": "Who on your side would own the rollout, so we can plan it around their calendar?"
          }
        },
        {
          "label": "Start small",
          "script": "What if we started with one team, proved it there, and only then rolled it out further?",
          "followUp": {
            "suggestion": "Pick the first team and the success measure together.",
            "script": "Which team would be the best place to start, and what would success look like for them?"
          }
        }
      ]
    }
  ],
  "discovery": [
    {
      "id": "current-process",
      "topic": "current process",
      "covered": [
        "today", "currently", "right now", "at the moment", "how do", "how does", "how is", "walk me through",
        "process", "workflow", "who does"
      ],
      "mentioned": ["we use", "we currently", "today we", "right now we", "at the moment we", "our process", "the way we do it", "shared inbox", "spreadsheet", "spreadsheets"],
      "headline": "Discovery: understand how they work today",
      "suggestion": "Before pitching, get a picture of their current process and who does what.",
      "options": [
        {
          "label": "Walk me through it",
          "script": "Could you walk me through how this works today, from start to finish?",
          "followUp": {
            "suggestion": "Dig into the step that sounded slowest or most manual.",
            "script": "Which step in that takes the most time or causes the most rework?"
          }
        },
        {
          "label": "Who does what",
          "script": "Who is involved day to day, and where do things get handed over?",
          "followUp": {
            "suggestion": "Ask where the handovers break.",
            "script": "Where do things usually get stuck between those people?"
          }
        }
      ]
    },
    {
      "id": "pain",
      "topic": "pain",
      "covered": [
        "challenge", "challenges", "problem", "problems", "pain", "frustrating", "what's not working", "biggest issue",
        "what happens when", "what goes wrong", "struggle with"
      ],
      "mentioned": ["problem", "problems", "issue", "issues", "by hand", "manual", "manually", "takes forever", "too long", "error prone", "mistakes", "struggle", "double handling", "falls through the cracks", "doesn't trust"],
      "implies": ["current-process"],
      "headline": "Discovery: find the pain",
      "suggestion": "Ask what is not working and let them describe it in their own words; do not suggest answers.",
      "options": [
        {
          "label": "Biggest challenge",
          "script": "What's the biggest challenge with the way it works today?",
          "followUp": {
            "suggestion": "Ask for a recent example; stories reveal the real cost.",
            "script": "Can you think of a recent example where that caused a problem?"
          }
        },
        {
          "label": "What goes wrong",
          "script": "When things go wrong, what usually happens, and who feels it first?",
          "followUp": {
            "suggestion": "Follow the consequence up the chain to the business impact.",
            "script": "And what does that mean for the rest of the business?"
          }
        }
      ]
    },
    {
      "id": "impact",
      "topic": "impact",
      "covered": [
        "cost you", "costs you", "how much time", "how many hours", "impact", "what does that mean for", "how much money",
        "what is that worth", "what's that worth", "cost the business"
      ],
      "mentioned": ["costs us", "cost us", "we lose", "we're losing", "hours a week", "hours each", "a full day", "days a month", "lost revenue"],
      "implies": ["pain", "current-process"],
      "headline": "Discovery: put a number on the impact",
      "suggestion": "They described a problem; quantify it so the value of fixing it is clear to them and to their approvers.",
      "options": [
        {
          "label": "Quantify it",
          "script": "Roughly how much time or money does that cost you each month?",
          "followUp": {
            "suggestion": "Turn the monthly figure into a yearly one and have them confirm it.",
            "script": "So across a year that adds up to quite a lot. Is that a fair number to work with?"
          }
        },
        {
          "label": "Business consequence",
          "script": "If that kept happening for another year, what would it mean for the business?",
          "followUp": {
            "suggestion": "Ask who else cares about that consequence: it points to the sponsor.",
            "script": "Who else in the company feels that, and how much do they care?"
          }
        }
      ]
    },
    {
      "id": "stakeholders",
      "topic": "stakeholders",
      "covered": [
        "who else", "who feels", "involved", "stakeholder", "stakeholders", "who would use", "which teams", "who owns"
      ],
      "mentioned": ["our cfo", "our cro", "our ceo", "my boss", "my manager", "my controller", "our controller"],
      "headline": "Discovery: find out who else cares",
      "suggestion": "Learn who feels the problem, who would use the solution and who would sponsor it.",
      "options": [
        {
          "label": "Who else is affected",
          "script": "Besides you, who feels this problem most?",
          "followUp": {
            "suggestion": "Ask whether that person would join a next conversation.",
            "script": "Would it make sense to bring them into our next conversation?"
          }
        },
        {
          "label": "Who would use it",
          "script": "Who would use this day to day, and how do they feel about the current way?",
          "followUp": {
            "suggestion": "Note the users' view; they can become allies or blockers.",
            "script": "What would they need to see to get behind a change?"
          }
        }
      ]
    },
    {
      "id": "decision-process",
      "topic": "decision process",
      "covered": [
        "decide", "decision", "decisions", "sign off", "approval", "approve", "security review", "procurement",
        "buying process", "choosing a tool", "evaluate"
      ],
      "mentioned": ["security review", "approval process", "legal review", "procurement process", "signs off on"],
      "headline": "Discovery: learn how they decide",
      "suggestion": "Ask how a purchase like this gets decided and approved, before you are deep into the deal.",
      "options": [
        {
          "label": "Decision process",
          "script": "How do you usually decide on something like this, and who signs off?",
          "followUp": {
            "suggestion": "Get the steps and the order, including security and procurement.",
            "script": "What are the steps after you say yes, for example security or procurement?"
          }
        },
        {
          "label": "Last purchase",
          "script": "The last time you bought a tool like this, how did that go?",
          "followUp": {
            "suggestion": "Ask what slowed it down last time, and plan around it.",
            "script": "What slowed that one down, and how could we avoid it this time?"
          }
        }
      ]
    },
    {
      "id": "timeline",
      "topic": "timeline",
      "covered": [
        "timeline", "timeframe", "time frame", "by when", "deadline", "when do you need", "go live", "when would you",
        "working towards", "target date"
      ],
      "mentioned": ["deadline", "by the end of", "go live", "need it by", "scoped by", "before the end of"],
      "headline": "Discovery: find the timeline",
      "suggestion": "Ask when they need a solution and what drives that date.",
      "options": [
        {
          "label": "Ask for the date",
          "script": "Is there a date you're working towards, and what's driving it?",
          "followUp": {
            "suggestion": "Work back from their date to the steps needed, so the plan is theirs.",
            "script": "If you want to be live by then, when would we need to start?"
          }
        },
        {
          "label": "What if it slips",
          "script": "What happens if this isn't solved by then?",
          "followUp": {
            "suggestion": "Use the consequence to agree a realistic plan.",
            "script": "Then let's make sure we plan for it. What's the first step on your side?"
          }
        }
      ]
    },
    {
      "id": "budget",
      "topic": "budget",
      "covered": [
        "budget", "budgets", "spend", "invest", "investment", "allocated", "funding", "price range", "pricing expectations"
      ],
      "mentioned": ["budget", "we pay", "we spend", "we're spending", "spending about"],
      "headline": "Discovery: understand the budget",
      "suggestion": "Ask how this would be funded and roughly what range they have in mind, before you show a price.",
      "options": [
        {
          "label": "How it's funded",
          "script": "How would something like this usually be funded on your side?",
          "followUp": {
            "suggestion": "Clarify whether budget exists or needs to be created, and who owns it.",
            "script": "Is there budget set aside for this, or would we need to build the case for it?"
          }
        },
        {
          "label": "Range in mind",
          "script": "Do you have a range in mind for solving this?",
          "followUp": {
            "suggestion": "Compare the range with the cost of the problem, not with your price list.",
            "script": "And how does that compare with what the problem costs you today?"
          }
        }
      ]
    },
    {
      "id": "success",
      "topic": "success criteria",
      "covered": [
        "good look like", "success look like", "success", "measure", "metrics", "kpi", "kpis", "in six months",
        "what would great look like", "ideal outcome"
      ],
      "mentioned": ["success would", "we'd measure", "our goal", "the goal is", "target is"],
      "headline": "Discovery: agree what success looks like",
      "suggestion": "Ask how they will judge the result, so your proposal answers their criteria.",
      "options": [
        {
          "label": "Define success",
          "script": "If we look back six months from now, what would make this a clear success for you?",
          "followUp": {
            "suggestion": "Turn their answer into one or two measurable criteria.",
            "script": "How would you measure that, and what's the number today?"
          }
        },
        {
          "label": "Ideal outcome",
          "script": "What would the ideal outcome look like for your team?",
          "followUp": {
            "suggestion": "Check which part matters most if they could only have one.",
            "script": "If you could only fix one part of that first, which would it be?"
          }
        }
      ]
    },
    {
      "id": "previous-attempts",
      "topic": "previous attempts",
      "covered": [
        "tried", "have you tried", "in the past", "before", "other tools", "last tool", "previous", "fix it"
      ],
      "mentioned": ["we tried", "we've tried", "our last tool", "last vendor", "we used to"],
      "headline": "Discovery: ask what they've tried",
      "suggestion": "Find out what they tried before and why it did not stick, so you do not repeat it.",
      "options": [
        {
          "label": "What was tried",
          "script": "What have you tried so far to fix this?",
          "followUp": {
            "suggestion": "Ask why it failed; their answer is your differentiation.",
            "script": "Why do you think that didn't work out?"
          }
        },
        {
          "label": "Why now",
          "script": "What makes this worth solving now rather than last year?",
          "followUp": {
            "suggestion": "The trigger event tells you the urgency and the sponsor.",
            "script": "Who pushed for looking at this now?"
          }
        }
      ]
    },
    {
      "id": "priority",
      "topic": "priority",
      "covered": [
        "priority", "priorities", "how important", "top of the list", "rank", "initiatives"
      ],
      "mentioned": ["top priority", "priority for us", "high on the list"],
      "headline": "Discovery: check how important this is",
      "suggestion": "Ask where this sits among their priorities, so you know whether the deal can move this quarter.",
      "options": [
        {
          "label": "Where it ranks",
          "script": "Where does this sit on your list of priorities this quarter?",
          "followUp": {
            "suggestion": "If it ranks high, agree the plan; if not, learn what would move it up.",
            "script": "What would need to happen for this to move up the list?"
          }
        },
        {
          "label": "Competing projects",
          "script": "What other projects are competing for the team's time right now?",
          "followUp": {
            "suggestion": "Plan around the competing project instead of against it.",
            "script": "Would a rollout that starts after that project work better for you?"
          }
        }
      ]
    }
  ],
  "questions": {
    "deflections": [
      "good question", "great question", "let me ask", "let me ask you", "we'll get to that", "we will get to that",
      "i'll come back to that", "we'll come back to that", "before i answer", "let's park that", "hold that thought",
      "i'll get back to you on that", "let me check on that"
    ],
    "tip": {
      "headline": "Open question: {question}",
      "suggestion": "The customer asked about {topic} and did not get an answer. Answer it briefly now, or say when you will.",
      "options": [
        {
          "label": "Answer it now",
          "script": "Coming back to your question about {topic}: here's the short answer.",
          "followUp": {
            "suggestion": "Check the answer landed before moving on.",
            "script": "Does that answer your question, or is there more behind it?"
          }
        },
        {
          "label": "Ask what's behind it",
          "script": "You asked about {topic} earlier. Before I answer, what's behind the question for you?",
          "followUp": {
            "suggestion": "Answer the concern behind the question, not only the question.",
            "script": "That makes sense. Here's how that would work for you."
          }
        },
        {
          "label": "Park it explicitly",
          "script": "You asked about {topic} and I don't want to lose it. Let me note it and come back to it before we finish.",
          "followUp": {
            "suggestion": "Keep the promise: answer it before the call ends.",
            "script": "Before we wrap up, let me come back to your question about {topic}."
          }
        }
      ]
    }
  },
  "nextSteps": {
    "agreed": [
      "send the invite", "send an invite", "send a calendar invite", "send you an invite", "tentative invite",
      "calendar invite", "it's in the calendar", "it's booked", "talk then", "see you then", "speak then",
      "invite is out", "i've sent the invite"
    ],
    "proposals": [
      "schedule", "book", "set up a call", "set up a meeting", "set up a demo", "follow up call", "follow up meeting",
      "next call", "next meeting", "catch up", "get together", "walk through", "go through it", "a call next",
      "meet again", "pilot", "trial", "proposal", "would you be open to", "could we", "can we", "shall we"
    ],
    "times": [
      "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday", "tomorrow", "next week",
      "this week", "end of the week", "next month", "o'clock", "a.m", "p.m", "pm", "noon", "at nine", "at ten",
      "at eleven", "at two", "at three", "at four", "in two weeks", "in a week"
    ],
    "acceptances": [
      "works for me", "that works", "works", "might work", "sounds good", "sounds great", "let's do it", "let's do that",
      "yes", "sure", "okay", "ok", "perfect", "book it", "send it over", "send me the invite", "happy to", "fine by me",
      "that's fine", "i'll be there", "let me check her calendar", "let me check his calendar", "let me check my calendar"
    ],
    "wrapUp": [
      "think about it", "have to think about it", "need to think about it", "let me think about it",
      "talk to my team", "need to talk to my team", "get back to you", "we'll be in touch", "i'll be in touch",
      "have to jump", "need to jump", "i have to run", "i need to run", "have to run now", "gotta run", "have to drop off",
      "need to drop off", "out of time",
      "running out of time", "another meeting", "thanks for your time", "thank you for your time",
      "send me some information", "send me more information", "i'll let you know", "we'll let you know"
    ],
    "wrapUpTip": {
      "headline": "Call is wrapping up with no next step: book one now",
      "suggestion": "They are about to leave. Don't settle for 'I'll think about it': propose a specific next step with a date before the call ends.",
      "options": [
        {
          "label": "Propose a date",
          "script": "Before you go, shall we put twenty minutes in the calendar next week to answer any questions from your team?",
          "followUp": {
            "suggestion": "Confirm the day, time and attendees, and send the invite while they are still on the line.",
            "script": "Great, I'll send the invite right now. Who else should I add?"
          }
        },
        {
          "label": "Include their team",
          "script": "Totally understand you want to talk to your team. Would it help if I joined that conversation for fifteen minutes to answer their questions?",
          "followUp": {
            "suggestion": "Get the team members' names and a date.",
            "script": "Who should be there, and which day suits them?"
          }
        },
        {
          "label": "Agree what happens next",
          "script": "So nothing gets lost: what would you like to see from me, and when should we check in?",
          "followUp": {
            "suggestion": "Write down their answer and confirm it back with a date.",
            "script": "Perfect. I'll send that over and we'll talk on the day we agreed."
          }
        }
      ]
    },
    "nearEndTip": {
      "headline": "Nearly out of time: agree the next step",
      "suggestion": "About {minutes} minutes in and no next step agreed yet. Summarise what you heard and propose a concrete next meeting.",
      "options": [
        {
          "label": "Summarise and propose",
          "script": "I want to respect your time. From what I heard, the main points were clear. Could we book a follow-up next week to go deeper?",
          "followUp": {
            "suggestion": "Pin the date and the attendees before you hang up.",
            "script": "Which day works best, and who should join?"
          }
        },
        {
          "label": "Ask for their next step",
          "script": "What would be a sensible next step from your side?",
          "followUp": {
            "suggestion": "Turn their answer into a dated commitment.",
            "script": "Great, let's put a date on that so it doesn't slip."
          }
        }
      ]
    },
    "momentumTip": {
      "headline": "Positive signal: turn it into a next step",
      "suggestion": "They reacted well. Use the momentum: confirm what resonated and propose a concrete next step with a date.",
      "options": [
        {
          "label": "Propose the next meeting",
          "script": "Glad that's useful. Shall we set up a call next week to go through it with the numbers?",
          "followUp": {
            "suggestion": "Agree the day, time and who joins, then send the invite.",
            "script": "Great. Which day works, and who else should join?"
          }
        },
        {
          "label": "Offer it in writing",
          "script": "I can put that in writing for you. When could we go through it together?",
          "followUp": {
            "suggestion": "Tie the written follow-up to a review meeting on a specific day.",
            "script": "I'll send it before then, so we can use the meeting to answer questions."
          }
        },
        {
          "label": "Check who else should see it",
          "script": "Who else would want to see this before a decision?",
          "followUp": {
            "suggestion": "Invite them to the next meeting rather than relying on a forwarded email.",
            "script": "Could we bring them into the next call so they hear it first hand?"
          }
        }
      ]
    }
  },
  "closing": {
    "buyingSignals": [
      "how do we get started", "how do we start", "how soon can we start", "when can we start", "what are the next steps",
      "what's the next step", "send me the contract", "send over the contract", "send me a proposal", "send us a proposal",
      "what would it take", "let's move forward", "move forward", "ready to go", "sounds like a fit",
      "what does onboarding look like", "how long does onboarding take", "how long would implementation take",
      "can we get a quote", "send a purchase order", "raise a purchase order", "where do i sign", "let's do this"
    ],
    "tip": {
      "headline": "Buying signal: ask for the commitment",
      "suggestion": "They said \"{phrase}\". Answer briefly, then ask for a clear commitment with a date.",
      "options": [
        {
          "label": "Ask directly",
          "script": "Great question. If we can get you started next week, are you ready to move forward?",
          "followUp": {
            "suggestion": "Confirm the steps to signature and who does each.",
            "script": "Perfect. What do you need from me to get the paperwork moving?"
          }
        },
        {
          "label": "Confirm the path",
          "script": "Happy to. The steps are a short proposal, your sign-off and a kickoff call. Shall I send the proposal today?",
          "followUp": {
            "suggestion": "Agree the date for the decision and the kickoff.",
            "script": "When do you think you can review it, so we can plan the kickoff?"
          }
        }
      ]
    },
    "confirmTip": {
      "headline": "Next step agreed: confirm it and close cleanly",
      "suggestion": "The next step is in place. Recap it, confirm who does what by when, and end on time.",
      "options": [
        {
          "label": "Recap the plan",
          "script": "Just to recap: I'll send what we discussed, and we meet on the day we agreed. Anything I missed?",
          "followUp": {
            "suggestion": "Send the recap right after the call.",
            "script": "Thanks again. You'll have the recap in your inbox within the hour."
          }
        },
        {
          "label": "Check for blockers",
          "script": "Is there anything that could get in the way before we meet again?",
          "followUp": {
            "suggestion": "Address the blocker now or plan for it.",
            "script": "Good to know. Let's plan for that so it doesn't slow us down."
          }
        }
      ]
    }
  },
  "reactions": {
    "positive": [
      "good point", "that's a good point", "makes sense", "that makes sense", "sounds good", "that would help",
      "that helps", "that's helpful", "i like that", "i like it", "love that", "that's great", "fair enough",
      "that's reasonable", "interesting", "impressive", "see that in writing", "i'd like to see", "would love to see",
      "that's exactly", "exactly what we need", "that would be great", "that's useful"
    ],
    "negative": [
      "not convinced", "i'm not sure", "not sure about", "i don't see", "doesn't help", "that doesn't", "i doubt",
      "not interested", "no thanks", "still too", "still not", "i disagree", "that won't work", "doesn't work for us",
      "not for us", "not really", "i don't think so"
    ]
  },
  "rapport": {
    "triggers": [
      "frustrating", "frustrated", "nightmare", "stressful", "stressed", "overwhelmed", "burned out", "burnt out",
      "fed up", "a mess", "painful", "drives me crazy", "exhausting", "annoying", "struggling", "a headache",
      "tough quarter", "tough year", "chaos", "chaotic"
    ],
    "tip": {
      "headline": "Emotion in the room: acknowledge it first",
      "suggestion": "They said \"{phrase}\". Pause the pitch, acknowledge how that feels, and invite them to say more.",
      "options": [
        {
          "label": "Acknowledge",
          "script": "That sounds genuinely tough. How is that affecting you and the team?",
          "followUp": {
            "suggestion": "Reflect back what you heard before offering anything.",
            "script": "So if I heard you right, the hardest part is that. Is that fair?"
          }
        },
        {
          "label": "Invite more",
          "script": "I appreciate you being candid. Can you tell me a bit more about what's been hardest?",
          "followUp": {
            "suggestion": "Connect the hardest part to what you can change, gently.",
            "script": "That's helpful. If that part went away, what would change for you?"
          }
        }
      ]
    }
  },
  "pacing": {
    "talkingTooMuch": {
      "headline": "You're talking {share}% of the time: ask and listen",
      "suggestion": "Aim for 40 to 60%. Stop after your next point, ask an open question, and let the silence work.",
      "options": [
        {
          "label": "Hand it over",
          "script": "I've been doing most of the talking. How does this compare with how you see it?",
          "followUp": {
            "suggestion": "Keep listening: ask one follow-up on what they just said before you speak again.",
            "script": "Tell me more about that."
          }
        },
        {
          "label": "Check relevance",
          "script": "Which of these matters most for {account}, so I can focus there?",
          "followUp": {
            "suggestion": "Go deep on the one thing they chose and drop the rest.",
            "script": "Great, let's focus on that. What would good look like for you there?"
          }
        }
      ]
    },
    "talkingTooLittle": {
      "headline": "You're talking {share}% of the time: take the lead",
      "suggestion": "Listening is good, but the call needs direction. Summarise what you heard and steer to the next topic.",
      "options": [
        {
          "label": "Summarise and steer",
          "script": "Let me make sure I've got this right: the main points are clear to me. Can I suggest where we go next?",
          "followUp": {
            "suggestion": "Lead the next part with a clear agenda and a question at the end.",
            "script": "Let me show you the part that matters most for that, then get your reaction."
          }
        },
        {
          "label": "Share a point of view",
          "script": "From what you've described, here's what we usually see work well with teams like yours.",
          "followUp": {
            "suggestion": "Check their reaction to your point of view.",
            "script": "Does that match your experience?"
          }
        }
      ]
    },
    "monologue": {
      "headline": "You've spoken for {seconds} s without a break: check in",
      "suggestion": "Long stretches lose the customer. Stop, ask a question, and let them react before your next point.",
      "options": [
        {
          "label": "Check in",
          "script": "I've covered a lot. What's your reaction so far?",
          "followUp": {
            "suggestion": "Follow their reaction, not your script.",
            "script": "Say more about that. Why does that stand out?"
          }
        },
        {
          "label": "Make it relevant",
          "script": "Which of these would make the biggest difference for {account}?",
          "followUp": {
            "suggestion": "Go deeper on their pick and skip the rest for now.",
            "script": "Let's focus on that. How do you handle it today?"
          }
        }
      ]
    },
    "silence": {
      "headline": "Long silence ({seconds} s): re-engage gently",
      "suggestion": "A long pause can mean thinking, confusion or a dropped connection. Check in with a light, open question.",
      "options": [
        {
          "label": "Check in",
          "script": "I'll pause there. What's going through your mind?",
          "followUp": {
            "suggestion": "Listen for the concern behind the pause.",
            "script": "That's a fair point. Let's look at it."
          }
        },
        {
          "label": "Check the line",
          "script": "Are you still with me? I want to make sure I didn't lose you.",
          "followUp": {
            "suggestion": "Recap the last point in one sentence and continue with a question.",
            "script": "Quick recap of where we were, then I'd love your view."
          }
        }
      ]
    }
  },
  "commitments": {
    "agent": [
      "i'll send", "i will send", "i'll follow up", "i will follow up", "i'll get back to you", "i will get back to you",
      "i'll share", "i will share", "i'll put together", "i will put together", "i'll set up", "i will set up",
      "i'll book", "i will book", "i'll schedule", "i will schedule", "i'll check", "i will check", "i'll loop in",
      "i'll email", "i will email", "i'll prepare", "i will prepare", "i'll draft", "i'll model", "i can model",
      "let me send", "we'll send", "we will send", "i'll invite", "i'll line up", "i'll get you", "i'll call"
    ],
    "customer": [
      "i'll send", "i will send", "i'll share", "i will share", "i'll check", "i will check", "i'll talk to",
      "i'll ask", "i'll get you", "i'll forward", "i'll loop in", "i'll review", "i'll look at"
    ]
  },
  "objectionRetry": {
    "headline": "Still pushing back on {name}: try another angle",
    "suggestion": "They came back to {name}. Acknowledge it, then try a different angle rather than repeating the argument you already used."
  },
  "followUpHeadline": "Build on \"{label}\"",
  "fallback": {
    "headline": "Keep the customer talking",
    "suggestion": "Nothing urgent stands out. Ask an open question about their goals and listen for a need, an objection or a next step.",
    "options": [
      {
        "label": "Open question",
        "script": "What would you most like to get out of the rest of our time today?"
      },
      {
        "label": "Check understanding",
        "script": "Is there anything I've said so far that doesn't quite fit how {account} works?"
      },
      {
        "label": "Propose a next step",
        "script": "Would it make sense to set up a follow-up with the people who'd use this?"
      }
    ]
  }
}
"""#
}
