// Every text of the citizen chat, in Swedish and English.

export const STRINGS = {
  // page and header
  "app.title": { sv: "1177 direkt – chatta med vården", en: "1177 direkt – chat with healthcare" },
  "app.name": { sv: "1177 direkt", en: "1177 direkt" },
  "app.tagline": { sv: "Chatta med vården", en: "Chat with healthcare" },
  "app.unit": { sv: "Chatta med {unit}", en: "Chat with {unit}" },
  "lang.switch": { sv: "English", en: "Svenska" },
  "lang.switch.label": { sv: "Read in English", en: "Läs på svenska" },
  "test.banner": {
    sv: "TESTMILJÖ – använd bara testpersoner, inga riktiga uppgifter",
    en: "TEST ENVIRONMENT – use test people only, no real data",
  },
  "logout": { sv: "Logga ut", en: "Log out" },
  "logged.in.as": { sv: "Inloggad som {name}", en: "Logged in as {name}" },
  "loading": { sv: "Laddar…", en: "Loading…" },
  "error.generic": {
    sv: "Något gick fel. Försök igen om en stund.",
    en: "Something went wrong. Please try again in a moment.",
  },
  "error.network": {
    sv: "Det går inte att nå tjänsten just nu. Kontrollera din anslutning och försök igen.",
    en: "The service cannot be reached right now. Check your connection and try again.",
  },
  "error.title": { sv: "Det gick inte", en: "That did not work" },
  "retry": { sv: "Försök igen", en: "Try again" },

  // start
  "start.heading": { sv: "Chatta med vården", en: "Chat with healthcare" },
  "start.lead": {
    sv: "Här kan du chatta med en sjuksköterska om dina besvär eller om ditt barns. Först svarar du på några frågor, sedan får du veta vad du kan göra – och vid behov en plats i kön till chatten.",
    en: "Here you can chat with a nurse about your symptoms or your child's. First you answer a few questions, then you learn what you can do – and, when needed, a place in the queue for the chat.",
  },
  "start.how": { sv: "Så går det till", en: "How it works" },
  "start.step1": { sv: "Logga in med e-legitimation.", en: "Log in with your e-ID." },
  "start.step2": {
    sv: "Svara på frågor om vad det gäller. Det tar ett par minuter.",
    en: "Answer questions about what it concerns. It takes a couple of minutes.",
  },
  "start.step3": {
    sv: "Vänta i kön. Du får en signal när sjuksköterskan öppnar chatten.",
    en: "Wait in the queue. You get a signal when the nurse opens the chat.",
  },
  "start.login": { sv: "Logga in med e-legitimation", en: "Log in with e-ID" },
  "start.emergency": {
    sv: "Vid fara för liv: ring 112. Behöver du råd nu: ring 1177.",
    en: "If life is in danger: call 112. If you need advice now: call 1177.",
  },
  "start.nologin": {
    sv: "Inloggning är inte tillgänglig just nu.",
    en: "Logging in is not available right now.",
  },

  // entry
  "entry.heading": { sv: "Vad gäller det?", en: "What is it about?" },
  "entry.who": { sv: "Vem gäller det?", en: "Who is it for?" },
  "entry.me": { sv: "Mig själv", en: "Myself" },
  "entry.child": { sv: "{name}, {age} år", en: "{name}, {age} years" },
  "entry.choose": { sv: "Välj vad du vill ha hjälp med", en: "Choose what you need help with" },
  "entry.seek_care": { sv: "Söka vård", en: "Seek care" },
  "entry.seek_care.help": { sv: "Besvär, symtom eller skada", en: "Symptoms, illness or injury" },
  "entry.vaccination": { sv: "Vaccination", en: "Vaccination" },
  "entry.vaccination.help": { sv: "Frågor om vaccin", en: "Questions about vaccines" },
  "entry.youth_clinic": { sv: "Ungdomsmottagning", en: "Youth clinic" },
  "entry.youth_clinic.help": { sv: "För dig som är 13–23 år", en: "For ages 13–23" },
  "entry.child_health": { sv: "Barnhälsovård (BVC)", en: "Child health care" },
  "entry.child_health.help": { sv: "För barn under 6 år", en: "For children under 6" },
  "entry.admin": { sv: "Tider och ärenden", en: "Appointments and errands" },
  "entry.admin.help": {
    sv: "Boka om, intyg, fakturor",
    en: "Rebooking, certificates, invoices",
  },

  // triage
  "triage.progress": { sv: "Fråga {n}", en: "Question {n}" },
  "triage.next": { sv: "Nästa", en: "Next" },
  "triage.back": { sv: "Tillbaka", en: "Back" },
  "triage.cancel": { sv: "Avbryt", en: "Cancel" },
  "triage.required": { sv: "Välj ett svar för att gå vidare.", en: "Choose an answer to continue." },
  "triage.required.multi": {
    sv: "Välj minst ett alternativ för att gå vidare.",
    en: "Choose at least one option to continue.",
  },
  "triage.number.required": { sv: "Skriv ett tal.", en: "Enter a number." },
  "triage.number.range": { sv: "Skriv ett tal mellan {min} och {max}.", en: "Enter a number between {min} and {max}." },
  "triage.number.hint": { sv: "Från {min} till {max}", en: "From {min} to {max}" },
  "triage.text.label": { sv: "Ditt svar", en: "Your answer" },
  "triage.photo.info": {
    sv: "Du kan skicka en bild till sjuksköterskan i chatten, när den har öppnats.",
    en: "You can send a photo to the nurse in the chat, once it has opened.",
  },

  // result
  "result.heading": { sv: "Vår bedömning", en: "Our assessment" },
  "result.112.heading": { sv: "Ring 112 nu", en: "Call 112 now" },
  "result.112.lead": {
    sv: "Det du beskriver kan vara livshotande. Ring 112 direkt. Vänta inte på en chatt.",
    en: "What you describe can be life-threatening. Call 112 right away. Do not wait for a chat.",
  },
  "result.112.call": { sv: "Ring 112", en: "Call 112" },
  "result.112.restart": { sv: "Jag har svarat fel – börja om", en: "I answered wrongly – start again" },
  "result.selfcare.heading": { sv: "Råd om egenvård", en: "Self-care advice" },
  "result.selfcare.lead": {
    sv: "Utifrån dina svar kan du troligen ta hand om besvären själv.",
    en: "From your answers you can probably take care of this yourself.",
  },
  "result.chat_anyway": { sv: "Chatta ändå", en: "Chat anyway" },
  "result.queue.lead": {
    sv: "Du kan chatta med en sjuksköterska. Skicka dina svar till väntrummet så får du en plats i kön.",
    en: "You can chat with a nurse. Send your answers to the waiting room and you get a place in the queue.",
  },
  "result.level": { sv: "Bedömning: {level}", en: "Assessment: {level}" },
  "result.reason": { sv: "Besvär: {reason}", en: "Concern: {reason}" },
  "result.summary": { sv: "Dina svar", en: "Your answers" },
  "result.submit": { sv: "Skicka till väntrummet", en: "Send to the waiting room" },
  "result.restart": { sv: "Börja om", en: "Start again" },
  "level.112_now": { sv: "Ring 112 nu", en: "Call 112 now" },
  "level.chat_now": { sv: "Du behöver kontakt med vården snart", en: "You need contact with healthcare soon" },
  "level.chat_today": { sv: "Du behöver kontakt med vården i dag", en: "You need contact with healthcare today" },
  "level.within_days": {
    sv: "Du behöver kontakt med vården inom några dagar",
    en: "You need contact with healthcare within a few days",
  },
  "level.self_care": { sv: "Egenvård", en: "Self-care" },
  "level.chat_now.warn": {
    sv: "Dina svar tyder på att du behöver hjälp snart. Om det blir sämre medan du väntar: ring 1177, eller 112 vid fara för liv.",
    en: "Your answers suggest you need help soon. If it gets worse while you wait: call 1177, or 112 if life is in danger.",
  },

  // waiting
  "waiting.heading": { sv: "Du är i kön", en: "You are in the queue" },
  "waiting.position": { sv: "Plats {position} av {depth}", en: "Place {position} of {depth}" },
  "waiting.position.unknown": { sv: "Din plats i kön uppdateras…", en: "Your place in the queue is being updated…" },
  "waiting.estimate": { sv: "Beräknad väntetid: ca {time}", en: "Estimated wait: about {time}" },
  "waiting.estimate.soon": { sv: "Beräknad väntetid: under 1 min", en: "Estimated wait: under 1 min" },
  "waiting.estimate.none": {
    sv: "Vi kan inte uppskatta väntetiden just nu",
    en: "We cannot estimate the waiting time right now",
  },
  "waiting.worse": {
    sv: "Om du blir sämre: ring 1177, eller 112 vid fara för liv",
    en: "If you get worse: call 1177, or 112 if life is in danger",
  },
  "waiting.info": {
    sv: "Du kan lämna sidan öppen och göra annat. När sjuksköterskan öppnar chatten hörs en signal och sidan visar chatten. Du har då 5 minuter på dig att svara.",
    en: "You can leave the page open and do something else. When the nurse opens the chat you hear a signal and the page shows the chat. You then have 5 minutes to answer.",
  },
  "waiting.about": { sv: "Ärende: {reason}", en: "Concern: {reason}" },
  "waiting.for": { sv: "Gäller: {name}", en: "For: {name}" },
  "waiting.leave": { sv: "Lämna kön", en: "Leave the queue" },
  "waiting.leave.confirm.heading": { sv: "Vill du lämna kön?", en: "Do you want to leave the queue?" },
  "waiting.leave.confirm.text": {
    sv: "Du förlorar din plats. Om du behöver vård senare får du börja om.",
    en: "You lose your place. If you need care later you start again.",
  },
  "waiting.leave.yes": { sv: "Ja, lämna kön", en: "Yes, leave the queue" },
  "waiting.leave.no": { sv: "Nej, stanna kvar", en: "No, stay" },
  "waiting.moving": {
    sv: "Ditt ärende flyttas till en annan mottagning. Du behåller din tur.",
    en: "Your case is being moved to another clinic. You keep your turn.",
  },
  "abandoned.heading": { sv: "Du har lämnat kön", en: "You have left the queue" },
  "abandoned.text": {
    sv: "Ditt ärende är avslutat. Behöver du vård kan du börja om när du vill.",
    en: "Your case is closed. If you need care you can start again at any time.",
  },
  "again": { sv: "Ny kontakt", en: "New contact" },

  // ready
  "ready.notice": {
    sv: "Din chatt är redo. {who} väntar på dig – skriv ditt svar nedan.",
    en: "Your chat is ready. {who} is waiting for you – write your reply below.",
  },
  "ready.someone": { sv: "Sjuksköterskan", en: "The nurse" },
  "ready.title": { sv: "(1) Din chatt är redo – 1177 direkt", en: "(1) Your chat is ready – 1177 direkt" },

  // chat
  "chat.heading": { sv: "Chatt med vården", en: "Chat with healthcare" },
  "chat.with": { sv: "Chatt med {name}, {unit}", en: "Chat with {name}, {unit}" },
  "chat.with.staff": { sv: "Chatt med {name}", en: "Chat with {name}" },
  "chat.log": { sv: "Meddelanden", en: "Messages" },
  "chat.empty": { sv: "Inga meddelanden än.", en: "No messages yet." },
  "chat.message": { sv: "Meddelande", en: "Message" },
  "chat.message.hint": {
    sv: "Enter skickar, Skift+Enter ger ny rad.",
    en: "Enter sends, Shift+Enter adds a new line.",
  },
  "chat.send": { sv: "Skicka", en: "Send" },
  "chat.sending": { sv: "Skickas…", en: "Sending…" },
  "chat.sent": { sv: "Skickat", en: "Sent" },
  "chat.read": { sv: "Läst", en: "Read" },
  "chat.failed": { sv: "Kunde inte skickas: {reason}", en: "Could not be sent: {reason}" },
  "chat.not_open": {
    sv: "Du kan skriva när sjuksköterskan har öppnat chatten.",
    en: "You can write once the nurse has opened the chat.",
  },
  "chat.typing.nurse": { sv: "Sjuksköterskan skriver…", en: "The nurse is typing…" },
  "chat.typing.doctor": { sv: "Läkaren skriver…", en: "The doctor is typing…" },
  "chat.typing.other": { sv: "Vårdpersonalen skriver…", en: "The staff member is typing…" },
  "chat.photo.attach": { sv: "Bifoga bild", en: "Attach a photo" },
  "chat.photo.preview": { sv: "Förhandsvisning av bilden du valt", en: "Preview of the photo you chose" },
  "chat.photo.send": { sv: "Skicka bild", en: "Send photo" },
  "chat.photo.remove": { sv: "Ta bort", en: "Remove" },
  "chat.photo.caption": { sv: "Text till bilden (valfritt)", en: "Text for the photo (optional)" },
  "chat.photo.uploading": { sv: "Laddar upp bilden…", en: "Uploading the photo…" },
  "chat.photo.bad": {
    sv: "Välj en bild i formatet JPEG, PNG eller WebP (högst 8 MB).",
    en: "Choose a JPEG, PNG or WebP image (at most 8 MB).",
  },
  "chat.photo.alt": { sv: "Bild från {name}", en: "Photo from {name}" },
  "chat.photo.alt.own": { sv: "Bild som du skickade", en: "Photo you sent" },
  "chat.download": { sv: "Ladda ned samtalet", en: "Download the conversation" },
  "chat.closed.heading": { sv: "Chatten är avslutad", en: "The chat has ended" },
  "chat.closed.outcome": { sv: "Resultat: {outcome}", en: "Outcome: {outcome}" },
  "chat.closed.text": {
    sv: "Samtalet finns kvar här nedan. Ladda gärna ned det om du vill spara det.",
    en: "The conversation is still shown below. Download it if you want to keep it.",
  },
  "outcome.self_care_advice": { sv: "Du har fått råd om egenvård", en: "You were given self-care advice" },
  "outcome.visit_booked": { sv: "Ett besök är bokat", en: "A visit has been booked" },
  "outcome.referred": { sv: "Du har hänvisats vidare", en: "You have been referred" },
  "outcome.video_consultation": { sv: "Videosamtal", en: "Video consultation" },
  "outcome.told_to_call_112": { sv: "Du har uppmanats att ringa 112", en: "You were told to call 112" },
  "outcome.no_contact": { sv: "Ingen kontakt", en: "No contact" },
  "outcome.abandoned": { sv: "Du lämnade kön", en: "You left the queue" },
  "role.nurse": { sv: "Sjuksköterska", en: "Nurse" },
  "role.doctor": { sv: "Läkare", en: "Doctor" },
  "role.administrator": { sv: "Administratör", en: "Administrator" },
  "role.citizen": { sv: "Du", en: "You" },
  "role.guardian": { sv: "Du", en: "You" },
  "role.system": { sv: "System", en: "System" },
  "role.staff": { sv: "Vårdpersonal", en: "Staff" },
  "you": { sv: "Du", en: "You" },
  "transcript.title": { sv: "1177 direkt – samtal", en: "1177 direkt – conversation" },
  "transcript.case": { sv: "Ärende: {case}", en: "Case: {case}" },
  "transcript.saved": { sv: "Sparat {date}", en: "Saved {date}" },
  "transcript.failed": {
    sv: "Samtalet kunde inte laddas ned. Försök igen.",
    en: "The conversation could not be downloaded. Try again.",
  },
  "system.name": { sv: "1177 direkt", en: "1177 direkt" },
  "transcript.photo": { sv: "[bild]", en: "[photo]" },

  // connection
  "conn.reconnecting": { sv: "Anslutningen bröts. Återansluter…", en: "The connection was lost. Reconnecting…" },
  "conn.connecting": { sv: "Ansluter…", en: "Connecting…" },
  "ended.heading": { sv: "Du är utloggad", en: "You are logged out" },
  "ended.text": {
    sv: "Din inloggning har upphört. Logga in igen för att fortsätta – ditt ärende finns kvar.",
    en: "Your login has ended. Log in again to continue – your case is kept.",
  },
  "ended.login": { sv: "Logga in igen", en: "Log in again" },
};
