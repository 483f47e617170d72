// The texts of bookings and vaccination self-booking (chat/booking.js, chat/vaccination.js), in
// Swedish and English; chat/strings.js includes them.

export const BOOKING_STRINGS = {
  // a booking card
  "booking.title.video": { sv: "Videobesök", en: "Video visit" },
  "booking.title.physical": { sv: "Besök på mottagningen", en: "Visit at the clinic" },
  "booking.title.vaccine": { sv: "Vaccination: {vaccine}", en: "Vaccination: {vaccine}" },
  "booking.patient": { sv: "Gäller", en: "For" },
  "booking.when": { sv: "Tid", en: "Time" },
  "booking.mode": { sv: "Typ av besök", en: "Kind of visit" },
  "booking.mode.video": { sv: "Video", en: "Video" },
  "booking.mode.physical": { sv: "På plats", en: "In person" },
  "booking.unit": { sv: "Mottagning", en: "Clinic" },
  "booking.address": { sv: "Adress", en: "Address" },
  "booking.video.where": {
    sv: "Videobesöket öppnar du under Mina bokade tider när det är dags.",
    en: "You open the video visit under My bookings when it is time.",
  },
  "booking.calendar": { sv: "Spara i kalendern (.ics)", en: "Save to your calendar (.ics)" },
  "booking.cancelled": { sv: "Avbokad", en: "Cancelled" },
  "vaccine.covid19": { sv: "covid-19", en: "covid-19" },
  "vaccine.influenza": { sv: "influensa", en: "influenza" },
  "vaccine.tbe": { sv: "TBE", en: "TBE" },
  "vaccine.pneumococcus": { sv: "pneumokocker", en: "pneumococcus" },
  "vaccine.pneumococcal": { sv: "pneumokocker", en: "pneumococcus" },

  // My bookings (under the administrative entry)
  "bookings.open.link": { sv: "Mina bokade tider – avboka eller boka om", en: "My bookings – cancel or rebook" },
  "bookings.heading": { sv: "Mina bokade tider", en: "My bookings" },
  "bookings.lead": {
    sv: "Dina och dina barns kommande tider. Kan du inte komma? Avboka eller boka om, så kan någon annan få tiden.",
    en: "Your and your children's coming appointments. Cannot come? Cancel or rebook, so that someone else can have the time.",
  },
  "bookings.none": { sv: "Du har inga kommande bokade tider.", en: "You have no coming appointments." },
  "bookings.back": { sv: "Tillbaka till start", en: "Back to the start" },
  "bookings.cancel": { sv: "Avboka", en: "Cancel" },
  "bookings.cancel.confirm": { sv: "Vill du avboka tiden?", en: "Do you want to cancel this appointment?" },
  "bookings.cancel.yes": { sv: "Ja, avboka", en: "Yes, cancel it" },
  "bookings.cancel.no": { sv: "Nej, behåll tiden", en: "No, keep it" },
  "bookings.cancelled": { sv: "Tiden {when} är avbokad.", en: "The appointment on {when} is cancelled." },
  "bookings.rebook": { sv: "Boka om", en: "Rebook" },
  "bookings.rebook.heading": { sv: "Välj en ny tid", en: "Choose a new time" },
  "bookings.rebook.save": { sv: "Boka den nya tiden", en: "Book the new time" },
  "bookings.rebooked": { sv: "Din nya tid: {when}.", en: "Your new time: {when}." },
  "bookings.open": { sv: "Öppna videobesöket", en: "Open the video visit" },
  "slots.day": { sv: "Dag", en: "Day" },
  "slots.times": { sv: "Lediga tider {day}", en: "Free times {day}" },
  "slots.none": { sv: "Det finns inga lediga tider de närmaste dagarna.", en: "There are no free times in the coming days." },

  // vaccination self-booking
  "vacc.self.heading": { sv: "Boka tid själv", en: "Book a time yourself" },
  "vacc.person.heading": { sv: "En person hjälper dig", en: "A person will help you" },
  "vacc.book": { sv: "Boka tid själv", en: "Book a time yourself" },
  "vacc.questions": { sv: "Jag har frågor – skicka till vaccinationsmottagningen", en: "I have questions – send to the vaccination service" },
  "vacc.already": { sv: "Du har redan bokat en tid med de här svaren.", en: "You have already booked a time with these answers." },
  "vacc.show.booking": { sv: "Visa min bokning", en: "Show my booking" },
  "vacc.heading": { sv: "Boka vaccination mot {vaccine}", en: "Book vaccination against {vaccine}" },
  "vacc.heading.child": { sv: "Boka vaccination mot {vaccine} för {name}", en: "Book vaccination against {vaccine} for {name}" },
  "vacc.place": { sv: "Var vill du vaccinera dig? Välj kommun", en: "Where do you want to be vaccinated? Choose a municipality" },
  "vacc.no.units": {
    sv: "Ingen vaccinationsmottagning i närheten har lediga tider just nu. Välj en annan kommun, eller skicka dina frågor till vaccinationsmottagningen.",
    en: "No vaccination clinic nearby has free times just now. Choose another municipality, or send your questions to the vaccination service.",
  },
  "vacc.km": { sv: "{km} km bort", en: "{km} km away" },
  "vacc.chosen": { sv: "Vald tid: {when}, {unit}.", en: "Chosen time: {when}, {unit}." },
  "vacc.confirm": { sv: "Boka vald tid", en: "Book the chosen time" },
  "vacc.booked.heading": { sv: "Din tid är bokad", en: "Your time is booked" },
  "vacc.booked.lead": {
    sv: "Ta med legitimation och eventuellt vaccinationskort. Kan du inte komma? Avboka under Mina bokade tider.",
    en: "Bring identification and your vaccination card if you have one. Cannot come? Cancel under My bookings.",
  },
  "vacc.booked.done": { sv: "Klar – till start", en: "Done – back to the start" },
};
